using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Observers;
using MLNet.Quantization.TorchSharp.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// A trainable TorchSharp module that interprets an ONNX graph: it evaluates the nodes in topological order with
/// TorchSharp ops, so autograd flows through the whole graph. The float initializers that hold weights (those read by
/// Conv, Gemm, MatMul, Add, Sub, Mul or Gather, with more than one element: weights, biases, LayerNorm scale and bias,
/// embeddings) are parameters; every other constant is a fixed tensor.
/// </summary>
/// <remarks>
/// Built by <see cref="QuantizationAwareTraining.Prepare(Onnx.OnnxModel, QuantizationConfig?, PrepareOptions?)"/>, it
/// also fake-quantizes every edge the prepared model observes. Every operator is checked when the module is built, so an
/// unsupported operator fails before any training. Inputs are checked against the graph's declared shapes before they
/// reach libtorch. <c>forward</c> takes the graph's single input and returns its first output.
/// </remarks>
public sealed class GraphModule : nn.Module<Tensor, Tensor>
{
    private static readonly HashSet<string> WeightReaders = new(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Gather" };

    private readonly IReadOnlyList<OnnxNode> _order;
    private readonly long _opset;
    private readonly ValueInfo[] _inputs;
    private readonly string _output;
    private readonly Dictionary<string, Parameter> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<QuantizationEdge, GroupFakeQuantizer> _quantizers = [];

    /// <summary>Builds a float module (no fake quantization) over <paramref name="graph"/>; the graph is read, not kept.</summary>
    /// <exception cref="NotSupportedException">A node's operator or attribute is not supported; the message names the node.</exception>
    /// <exception cref="InvalidOperationException">TorchSharp's native library cannot be loaded.</exception>
    public GraphModule(OnnxGraph graph)
        : this(graph, null)
    {
    }

    internal GraphModule(OnnxGraph graph, IReadOnlyList<ObserverGroup>? groups)
        : base("GraphModule")
    {
        ArgumentNullException.ThrowIfNull(graph);
        TorchSharpRuntime.EnsureLoaded();
        _order = graph.TopologicalOrder();
        foreach (var node in _order)
        {
            OnnxOps.Check(node);
            for (int i = 1; i < node.Outputs.Count; i++)
            {
                if (node.Outputs[i].Length > 0 && graph.IsUsed(node.Outputs[i]))
                    throw new NotSupportedException($"Node '{node.Name}' ({node.OpType}): output {i} ('{node.Outputs[i]}') is used, but the QAT interpreter computes only the first output.");
            }
        }

        _opset = graph.GetOpsetVersion();
        _inputs = graph.Inputs.ToArray();
        if (graph.Outputs.Count == 0)
            throw new ArgumentException($"Graph '{graph.Name}' has no outputs.", nameof(graph));
        _output = graph.Outputs[0].Name;
        LoadInitializers(graph);
        if (groups is not null)
        {
            foreach (var group in groups.Where(g => g.IsFakeQuantized))
            {
                foreach (var edge in group.Edges)
                    _quantizers[edge] = new GroupFakeQuantizer(group);
            }
        }

        RegisterComponents();
    }

    /// <summary>When false, fake quantization is skipped and the module computes the float graph (default true).</summary>
    public bool FakeQuantizationEnabled { get; set; } = true;

    /// <summary>Number of edges that are fake-quantized.</summary>
    public int FakeQuantizedEdgeCount => _quantizers.Count;

    /// <summary>The trainable weights by initializer name.</summary>
    internal IReadOnlyDictionary<string, Parameter> Weights => _weights;

    /// <summary>Runs the graph on its single input and returns its first output.</summary>
    /// <exception cref="ArgumentException">The graph does not have exactly one input, or <paramref name="input"/>'s type or shape does not match it.</exception>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_inputs.Length != 1)
            throw new ArgumentException($"The graph has {_inputs.Length} inputs ({string.Join(", ", _inputs.Select(i => i.Name))}); forward takes exactly one.", nameof(input));
        CheckInput(_inputs[0], input);
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_inputs[0].Name] = input };
        var quantized = new Dictionary<(int, string), Tensor>();
        bool observe = training;
        foreach (var node in _order)
        {
            var inputs = new Tensor?[node.Inputs.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                string name = node.Inputs[i];
                if (name.Length == 0)
                    continue;
                var value = Lookup(values, name, node);
                inputs[i] = Quantize(QuantizationEdge.Input(node, i), name, value, quantized, observe);
            }

            var output = OnnxOps.Run(node, inputs, _opset);
            values[node.Outputs[0]] = Quantize(QuantizationEdge.Output(node, 0), node.Outputs[0], output, quantized, observe);
        }

        return Lookup(values, _output, null);
    }

    private Tensor Quantize(QuantizationEdge edge, string tensorName, Tensor value, Dictionary<(int, string), Tensor> done, bool observe)
    {
        if (!FakeQuantizationEnabled || !_quantizers.TryGetValue(edge, out var quantizer))
            return value;
        // one fake quantization (and one observation) per group and tensor per forward, however many edges carry it
        if (!done.TryGetValue((quantizer.Id, tensorName), out var result))
            done[(quantizer.Id, tensorName)] = result = quantizer.Forward(value, observe);
        return result;
    }

    private Tensor Lookup(Dictionary<string, Tensor> values, string name, OnnxNode? node)
    {
        if (values.TryGetValue(name, out var t) || _constants.TryGetValue(name, out t))
            return t;
        if (_weights.TryGetValue(name, out var p))
            return p;
        throw new InvalidOperationException(node is null
            ? $"The graph output '{name}' was not computed."
            : $"Node '{node.Name}' reads '{name}', which is neither an input, an initializer nor a node output.");
    }

    private void LoadInitializers(OnnxGraph graph)
    {
        var used = new HashSet<string>(_order.SelectMany(n => n.Inputs).Where(n => n.Length > 0), StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, data) in graph.Initializers)
        {
            if (!used.Contains(name))
                continue;
            var value = OnnxOps.ToTensor(data);
            bool trainable = value.dtype == ScalarType.Float32 && value.numel() > 1
                && graph.GetConsumers(name).Any(c => WeightReaders.Contains(c.Node.OpType) && !(c.Node.OpType == "Gather" && c.InputIndex != 0));
            if (!trainable)
            {
                _constants[name] = value;
                continue;
            }

            var parameter = new Parameter(value, requires_grad: true);
            value.Dispose();
            string parameterName = UniqueParameterName(name, names);
            register_parameter(parameterName, parameter);
            _weights[name] = parameter;
        }
    }

    private static string UniqueParameterName(string name, HashSet<string> taken)
    {
        var chars = name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray();
        string baseName = new string(chars).Trim('_');
        if (baseName.Length == 0)
            baseName = "weight";
        string candidate = baseName;
        for (int k = 1; !taken.Add(candidate); k++)
            candidate = $"{baseName}_{k}";
        return candidate;
    }

    private static void CheckInput(ValueInfo declared, Tensor input)
    {
        var expected = OnnxOps.ScalarTypeOf(null, declared.ElementType);
        if (input.dtype != expected)
            throw new ArgumentException($"Input '{declared.Name}' must be {expected}; got {input.dtype}.", nameof(input));
        if (declared.Shape is not { } shape)
            return;
        bool matches = input.dim() == shape.Count;
        for (int i = 0; matches && i < shape.Count; i++)
            matches = shape[i].Value is not long d || d == input.shape[i] || i == 0;
        if (!matches)
            throw new ArgumentException(
                $"Input '{declared.Name}' has shape [{string.Join(", ", input.shape)}]; the graph declares [{string.Join(", ", shape)}] (the first axis may be any batch size).",
                nameof(input));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in _constants.Values)
                t.Dispose();
            _constants.Clear();
        }

        base.Dispose(disposing);
    }
}
