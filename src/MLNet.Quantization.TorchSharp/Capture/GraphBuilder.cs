using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// Collects the ONNX nodes, float initializers and value infos of a captured module (opset 13, IR 8), naming them
/// after module paths, and turns them into an <see cref="OnnxGraph"/> whose last tensor is the graph output.
/// </summary>
/// <remarks>
/// The messages are this assembly's own compilation of <c>onnx.proto</c>; the captured model reaches the core library
/// as ONNX bytes through the public <see cref="OnnxModel.Load(byte[], string?, string?)"/>, the contract every ONNX
/// producer uses, so the two packages share no internals.
/// </remarks>
internal sealed class GraphBuilder
{
    public const long Opset = 13;
    private const long IrVersion = 8;

    private readonly CaptureOptions _options;
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CapturedTensor> _tensors = new(StringComparer.Ordinal);

    public GraphBuilder(CaptureOptions options, long[] inputShape)
    {
        _options = options;
        _graph = new GraphProto { Name = options.GraphName };
        Input = new CapturedTensor(Reserve(options.InputName), inputShape, BatchLeading: true);
        Reserve(options.OutputName);
        _graph.Input.Add(ToProto(ToValueInfo(Input)));
    }

    public CapturedTensor Input { get; }

    /// <summary>Adds a float initializer named <paramref name="name"/> (made unique); returns the name used.</summary>
    public string AddInitializer(string name, long[] dims, float[] values)
    {
        string unique = Unique(name);
        _graph.Initializer.Add(Tensor(unique, TensorElementType.Float, dims, MemoryMarshal.AsBytes(values.AsSpan())));
        return unique;
    }

    public string AddScalar(string name, float value) => AddInitializer(name, [], [value]);

    /// <summary>Adds a 1-D int64 initializer (e.g. a Reshape target); returns the name used.</summary>
    public string AddInt64(string name, long[] values)
    {
        string unique = Unique(name);
        _graph.Initializer.Add(Tensor(unique, TensorElementType.Int64, [values.Length], MemoryMarshal.AsBytes(values.AsSpan())));
        return unique;
    }

    /// <summary>Adds a node reading <paramref name="inputs"/> and writing one new tensor of shape <paramref name="shape"/>.</summary>
    public CapturedTensor AddNode(string opType, string nodeName, IEnumerable<string> inputs, long[] shape, bool batchLeading, Action<NodeAttributes>? attributes = null)
    {
        var proto = new NodeProto { OpType = opType, Name = Unique(nodeName) };
        proto.Input.AddRange(inputs);
        var output = new CapturedTensor(Unique(proto.Name.Replace('/', '_') + "_output"), shape, batchLeading);
        proto.Output.Add(output.Name);
        attributes?.Invoke(new NodeAttributes(proto));
        _graph.Node.Add(proto);
        _tensors[output.Name] = output;
        return output;
    }

    /// <summary>A node whose output keeps the input's shape.</summary>
    public CapturedTensor AddElementwise(string opType, string nodeName, CapturedTensor input, params string[] otherInputs) =>
        AddNode(opType, nodeName, [input.Name, .. otherInputs], input.Shape, input.BatchLeading);

    /// <summary>Names <paramref name="result"/> as the graph output (adding an Identity when the result is the graph input) and builds the graph.</summary>
    public OnnxGraph Build(CapturedTensor result)
    {
        if (result.Name == Input.Name)
            result = AddElementwise("Identity", "Identity", result);
        foreach (var node in _graph.Node)
        {
            for (int i = 0; i < node.Output.Count; i++)
                node.Output[i] = node.Output[i] == result.Name ? _options.OutputName : node.Output[i];
            for (int i = 0; i < node.Input.Count; i++)
                node.Input[i] = node.Input[i] == result.Name ? _options.OutputName : node.Input[i];
        }

        _tensors.Remove(result.Name);
        var output = result with { Name = _options.OutputName };
        _graph.Output.Add(ToProto(ToValueInfo(output)));
        foreach (var tensor in _tensors.Values)
            _graph.ValueInfo.Add(ToProto(ToValueInfo(tensor)));

        var model = new ModelProto { IrVersion = IrVersion, ProducerName = "MLNet.Quantization.TorchSharp", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray(), _options.GraphName));
    }

    private ValueInfo ToValueInfo(CapturedTensor tensor)
    {
        var dims = tensor.Shape.Select((d, i) => i > 0 || !_options.DynamicBatch ? new Dimension(d, null)
            : tensor.BatchLeading ? new Dimension(null, _options.BatchDimensionName) : new Dimension(null, null)).ToArray();
        return new ValueInfo(tensor.Name, TensorElementType.Float, dims);
    }

    private static TensorProto Tensor(string name, TensorElementType type, long[] dims, ReadOnlySpan<byte> littleEndianValues)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(littleEndianValues) };
        proto.Dims.AddRange(dims);
        return proto;
    }

    private static ValueInfoProto ToProto(ValueInfo info)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)info.ElementType, Shape = new TensorShapeProto() };
        foreach (var d in info.Shape!)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Value is long v)
                dim.DimValue = v;
            else if (d.Symbol is not null)
                dim.DimParam = d.Symbol;
            tensor.Shape.Dim.Add(dim);
        }

        return new ValueInfoProto { Name = info.Name, Type = new TypeProto { TensorType = tensor } };
    }

    private string Unique(string name)
    {
        if (name.Length == 0)
            name = "node";
        if (!_names.Contains(name))
            return Reserve(name);
        int i = 1;
        while (_names.Contains($"{name}_{i}"))
            i++;
        return Reserve($"{name}_{i}");
    }

    private string Reserve(string name)
    {
        _names.Add(name);
        return name;
    }
}
