using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// One run of <see cref="X86Quantizer"/>'s recipe over a graph, following X86InductorQuantizer's three steps:
/// (1) fusion patterns anchored on Conv (<c>X86Annotator.Conv.cs</c>), Gemm and MatMul (<c>X86Annotator.Linear.cs</c>),
/// and, when enabled, Add and Mul between int8 tensors (<c>X86Annotator.Elementwise.cs</c>);
/// (2) propagation to int8-in-int8-out ops whose inputs come from quantized patterns; (3) those ops' outputs share
/// their input's parameters (<c>X86Annotator.Propagation.cs</c>). This file holds the state, the order of the steps,
/// and the matching and annotating helpers the pattern families share.
/// </summary>
internal sealed partial class X86Annotator
{
    private readonly OnnxGraph _graph;
    private readonly QuantizationAnnotations _annotations;
    private readonly X86Quantizer _quantizer;
    private readonly bool _dynamic;
    private readonly bool _qat;

    // X86InductorQuantizer's _is_output_of_quantized_pattern: last node of a quantized pattern.
    private readonly HashSet<OnnxNode> _patternOutputs = new(ReferenceEqualityComparer.Instance);

    // Nodes claimed by a pattern (quantized or kept in float by a null config).
    private readonly HashSet<OnnxNode> _claimed = new(ReferenceEqualityComparer.Instance);

    // Why a node stays in float, when a step decided it; otherwise a generic reason is recorded at the end.
    private readonly Dictionary<OnnxNode, string> _reasons = new(ReferenceEqualityComparer.Instance);

    public X86Annotator(OnnxGraph graph, QuantizationAnnotations annotations, X86Quantizer quantizer)
    {
        _graph = graph;
        _annotations = annotations;
        _quantizer = quantizer;
        _dynamic = quantizer.IsDynamicMode;
        _qat = quantizer.IsQatMode;
    }

    public void Run()
    {
        var order = _graph.TopologicalOrder();
        foreach (var node in order)
        {
            if (_annotations.IsAnnotated(node))
                _claimed.Add(node);
        }

        foreach (var node in order)
        {
            if (_claimed.Contains(node))
                continue;
            switch (node.OpType)
            {
                case "Conv" when node.IsDefaultDomain:
                    AnnotateConv(node);
                    break;
                case "Gemm" or "MatMul" when node.IsDefaultDomain:
                    AnnotateLinearOrMatMul(node);
                    break;
                case "Add" or "Mul" when node.IsDefaultDomain && _quantizer.QuantizeElementwise && !_dynamic && !_qat:
                    AnnotateElementwise(node);
                    break;
            }
        }

        if (!_dynamic)
        {
            foreach (var node in order)
            {
                if (!_claimed.Contains(node) && X86Ops.Propagation.Contains(node.OpType) && node.IsDefaultDomain)
                    AnnotatePropagation(node);
            }

            foreach (var node in order)
                SharePropagatedOutput(node);
        }

        foreach (var node in order)
        {
            if (_annotations.Get(node) is { } a && a.QuantizesAnything)
                continue;
            if (_claimed.Contains(node) && !_reasons.ContainsKey(node))
                continue; // fused into a quantized pattern (a Relu, a bias Add)
            _annotations.Skip(node, _reasons.GetValueOrDefault(node) ?? DefaultReason(node));
        }
    }

    private string DefaultReason(OnnxNode node)
    {
        if (_dynamic)
            return $"dynamic quantization applies only to Gemm and MatMul with a constant weight; no pattern for {node.OpType}";
        return $"X86Quantizer has no pattern for {node.OpType}";
    }

    // ---- pattern matching ----------------------------------------------------------------------------------

    /// <summary>
    /// The tail of a Conv or linear pattern after <paramref name="last"/>: <c>[Add] [Relu | Clip | Relu Clip]</c>, as
    /// X86InductorQuantizer's <c>[op, add, ReLU]</c>, <c>[op, add]</c> and <c>[op, ReLU]</c> patterns. The Add must be
    /// the only consumer and its other input not a constant (a constant one is a bias, not a binary fusion).
    /// </summary>
    private PatternTail MatchTail(OnnxNode last)
    {
        var nodes = new List<OnnxNode>();
        var add = FusibleAdd(last, constantOther: false);
        if (add is { } binary)
        {
            nodes.Add(binary.Node);
            last = binary.Node;
        }

        // X86InductorQuantizer fuses ReLU (and after a conv alone relu6/hardtanh); ONNX Runtime folds Relu and Clip into
        // the following QuantizeLinear either way, so both are accepted in both places.
        foreach (var unary in UnaryTail(last))
        {
            nodes.Add(unary);
            last = unary;
        }

        return new PatternTail(nodes, last, add);
    }

    /// <summary>
    /// The Add that is the only consumer of <paramref name="producer"/>'s output and can join its pattern, with the
    /// index of its other input, which must be a constant (<paramref name="constantOther"/>) or not; otherwise null.
    /// </summary>
    private FusedBinary? FusibleAdd(OnnxNode producer, bool constantOther)
    {
        if (SoleConsumer(producer) is { OpType: "Add" } add && CanFuse(add)
            && BinaryExtraInput(add, producer.Outputs[0]) is int extra && IsConstant(add.Inputs[extra]) == constantOther)
            return new FusedBinary(add, extra);
        return null;
    }

    /// <summary>The only consumer of <paramref name="node"/>'s first output, when it has exactly one and is not a graph output.</summary>
    private OnnxNode? SoleConsumer(OnnxNode node)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0 || _graph.IsGraphOutput(node.Outputs[0]))
            return null;
        var consumers = _graph.GetConsumers(node.Outputs[0]);
        if (consumers.Count != 1)
            return null;
        return consumers[0].Node;
    }

    /// <summary>A node can join another node's pattern: not claimed, default domain, and no node-name config of its own.</summary>
    private bool CanFuse(OnnxNode node) =>
        !_claimed.Contains(node) && node.IsDefaultDomain && !_quantizer.HasNodeNameConfig(node);

    /// <summary>The index of the other input of a two-input op fed by <paramref name="tensor"/>, or null.</summary>
    private static int? BinaryExtraInput(OnnxNode binary, string tensor)
    {
        if (binary.Inputs.Count != 2 || binary.Inputs[0] == binary.Inputs[1])
            return null;
        if (binary.Inputs[0] == tensor)
            return 1;
        if (binary.Inputs[1] == tensor)
            return 0;
        return null;
    }

    /// <summary>
    /// Relu, Clip with constant bounds, or Relu then Clip (the exporter's relu6) consuming <paramref name="node"/>'s
    /// output. As PyTorch's find_sequential_partitions, a unary op only has to consume the output, not be its only
    /// consumer (binary fusions require a single consumer).
    /// </summary>
    private List<OnnxNode> UnaryTail(OnnxNode node)
    {
        var tail = new List<OnnxNode>();
        var current = node;
        if (FusibleConsumer(current, "Relu") is { } relu)
        {
            tail.Add(relu);
            current = relu;
        }

        if (FusibleConsumer(current, "Clip", IsConstantClip) is { } clip)
            tail.Add(clip);
        return tail;
    }

    /// <summary>The first consumer of <paramref name="node"/>'s first output with <paramref name="opType"/> that can join a pattern.</summary>
    private OnnxNode? FusibleConsumer(OnnxNode node, string opType, Func<OnnxNode, bool>? condition = null)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
            return null;
        foreach (var consumer in _graph.GetConsumers(node.Outputs[0]))
        {
            var candidate = consumer.Node;
            if (candidate.OpType == opType && candidate.Inputs[0] == node.Outputs[0] && CanFuse(candidate) && (condition is null || condition(candidate)))
                return candidate;
        }

        return null;
    }

    private bool IsConstantClip(OnnxNode clip)
    {
        for (int i = 1; i < clip.Inputs.Count; i++)
        {
            if (clip.Inputs[i].Length > 0 && !IsConstant(clip.Inputs[i]))
                return false;
        }

        return true;
    }

    private bool IsConstant(string tensor) => tensor.Length > 0 && _graph.TryGetConstant(tensor, out _);

    private bool IsFromQuantizedPattern(string tensor) =>
        _graph.GetProducer(tensor) is { } producer && _patternOutputs.Contains(producer);

    // ---- annotating ------------------------------------------------------------------------------------------

    /// <summary>
    /// The input specs of a Conv, Gemm or MatMul (X86InductorQuantizer's <c>_annotate_conv_node_helper</c> and its
    /// linear twin): the activation at 0, the weight at 1 with its channel on <paramref name="weightAxis"/>, and the bias
    /// at 2 when <paramref name="withBias"/> and the config quantizes both activation and weight.
    /// </summary>
    private Dictionary<int, QuantizationSpecBase> WeightedNodeSpecs(OnnxNode node, QuantizationConfig config, int weightAxis, bool withBias)
    {
        var map = new Dictionary<int, QuantizationSpecBase>();
        if (config.InputActivation is { } act)
            map[0] = act;
        if (WeightSpec(config, node.Inputs[1], weightAxis) is { } weight)
            map[1] = weight;
        if (withBias && BiasSpec(config, node, map) is { } bias)
            map[2] = bias;
        return map;
    }

    /// <summary>
    /// Annotates the anchor of <paramref name="pattern"/> (its first node) with <paramref name="map"/>; when the config
    /// quantizes nothing there, keeps the pattern in float instead and returns false.
    /// </summary>
    private bool AnnotateAnchor(IReadOnlyList<OnnxNode> pattern, ConfigChoice choice, Dictionary<int, QuantizationSpecBase> map)
    {
        if (map.Count == 0)
        {
            KeepFloat(pattern, choice with { Source = choice.Source + " (it quantizes neither activations nor weights)" });
            return false;
        }

        Annotate(pattern[0], map);
        return true;
    }

    private QuantizationSpec? WeightSpec(QuantizationConfig config, string weightTensor, int axis)
    {
        if (config.Weight is not { } weight)
            return null;
        if (!weight.QScheme.IsPerChannel())
            return weight;
        if (!_graph.TryGetConstant(weightTensor, out var tensor) || axis >= tensor.Dims.Count)
            throw new QuantizationAnnotationException($"Weight '{weightTensor}' has rank {tensor?.Dims.Count}; it has no channel axis {axis}.");
        return weight.ChannelAxis == axis ? weight : weight with { ChannelAxis = axis };
    }

    /// <summary>The bias spec when both activation and weight are quantized (a derived bias needs both).</summary>
    private QuantizationSpecBase? BiasSpec(QuantizationConfig config, OnnxNode node, Dictionary<int, QuantizationSpecBase> map)
    {
        if (config.Bias is null || !IsConstant(node.Inputs[2]))
            return null;
        if (config.Bias is DerivedQuantizationSpec { IsTemplate: true } template)
            return map.ContainsKey(0) && map.ContainsKey(1) ? template.BindBias(node, 0, 1) : null;
        return config.Bias;
    }

    private void Annotate(OnnxNode node, Dictionary<int, QuantizationSpecBase> map)
    {
        var annotation = _annotations.GetOrCreate(node);
        foreach (var (index, spec) in map)
            annotation.InputQSpecMap[index] = spec;
        annotation.Annotated = true;
        _claimed.Add(node);
    }

    private QuantizationAnnotation ClaimQuantized(OnnxNode node)
    {
        var annotation = _annotations.GetOrCreate(node);
        annotation.Annotated = true;
        _claimed.Add(node);
        return annotation;
    }

    /// <summary>Claims the nodes of a pattern a null config keeps in float (X86InductorQuantizer's _annotate_nodes_not_quantize).</summary>
    private void KeepFloat(IReadOnlyList<OnnxNode> pattern, ConfigChoice choice)
    {
        string reason = choice.Found
            ? $"kept in float by {choice.Source}"
            : $"{choice.Source}";
        for (int i = 0; i < pattern.Count; i++)
        {
            var node = pattern[i];
            if (choice.Found)
            {
                _annotations.GetOrCreate(node).Annotated = true;
                _claimed.Add(node);
            }

            _reasons[node] = i == 0 ? reason : $"part of the {pattern[0].OpType} '{pattern[0].Name}' pattern, {reason}";
        }
    }

    /// <summary>An Add fused into a pattern and the index of its other (extra) input.</summary>
    private readonly record struct FusedBinary(OnnxNode Node, int ExtraInput);

    /// <summary>The nodes a tail matched (in order), the pattern's last node, and the Add among them, if any.</summary>
    private readonly record struct PatternTail(IReadOnlyList<OnnxNode> Nodes, OnnxNode Last, FusedBinary? Add);
}
