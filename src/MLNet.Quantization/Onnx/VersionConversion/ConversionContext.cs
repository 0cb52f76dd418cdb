using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion;

/// <summary>
/// What an adapter works with: the graph being converted, the overall source and target opsets (for messages), and the
/// element types and ranks of the model's tensors as declared or as ONNX Runtime inferred them on the unconverted model.
/// </summary>
internal sealed class ConversionContext
{
    private readonly IReadOnlyDictionary<string, ValueInfo> _inferred;

    public ConversionContext(OnnxGraph graph, long sourceOpset, long targetOpset, IReadOnlyDictionary<string, ValueInfo> inferred)
    {
        Graph = graph;
        SourceOpset = sourceOpset;
        TargetOpset = targetOpset;
        _inferred = inferred;
    }

    public OnnxGraph Graph { get; }

    public long SourceOpset { get; }

    public long TargetOpset { get; }

    /// <summary>The tensor's element type, or <see cref="TensorElementType.Undefined"/> when neither declared nor inferred.</summary>
    public TensorElementType ElementType(string tensor)
    {
        if (Graph.TryGetConstant(tensor, out var constant))
            return constant.ElementType;
        var declared = Graph.GetValueInfo(tensor)?.ElementType ?? TensorElementType.Undefined;
        if (declared != TensorElementType.Undefined)
            return declared;
        return _inferred.TryGetValue(tensor, out var info) ? info.ElementType : TensorElementType.Undefined;
    }

    /// <summary>The tensor's rank, or null when unknown.</summary>
    public int? Rank(string tensor)
    {
        if (Graph.TryGetConstant(tensor, out var constant))
            return constant.Dims.Count;
        if (Graph.GetValueInfo(tensor)?.Shape is { } shape)
            return shape.Count;
        return _inferred.TryGetValue(tensor, out var info) && info.Shape is { } s ? s.Count : null;
    }

    /// <summary>The refusal naming the node, its op, the opsets and the reason (for the caller to throw).</summary>
    public OpsetConversionException Refuse(OnnxNode node, int stepOpset, string reason) =>
        new OpsetConversionException(
            $"Cannot convert node '{node.Name}' ({node.OpType}) from ONNX opset {SourceOpset} to {TargetOpset} (at the opset-{stepOpset} step): {reason}",
            node.Name, node.OpType, SourceOpset, TargetOpset);

    /// <summary>Adds an int64 initializer of shape [values.Length]; returns its name.</summary>
    public string AddInt64s(OnnxNode node, string suffix, IReadOnlyList<long> values) =>
        Graph.AddInitializer(TensorData.FromInt64($"{node.Name}_{suffix}", [values.Count], values.ToArray()));

    /// <summary>Adds a float32 initializer of the given dims; returns its name.</summary>
    public string AddFloats(OnnxNode node, string suffix, long[] dims, IReadOnlyList<float> values) =>
        Graph.AddInitializer(TensorData.FromFloats($"{node.Name}_{suffix}", dims, values.ToArray()));

    /// <summary>
    /// Adds a scalar initializer holding <paramref name="value"/> in the element type of <paramref name="likeTensor"/>
    /// (float16, float or double, the types the attribute-era schemas accept). When that type is neither declared nor
    /// inferable the scalar is float32, the type nearly every such model uses.
    /// </summary>
    public string AddScalarLike(OnnxNode node, string suffix, string likeTensor, float value)
    {
        string name = $"{node.Name}_{suffix}";
        var tensor = ElementType(likeTensor) switch
        {
            TensorElementType.Double => TensorData.FromDoubles(name, [], [value]),
            TensorElementType.Float16 => TensorData.FromFloat16(name, [], [(Half)value]),
            TensorElementType.BFloat16 => throw Refuse(node, 0, "bfloat16 data has no scalar form before opset 13"),
            _ => TensorData.FromFloats(name, [], [value]),
        };
        return Graph.AddInitializer(tensor);
    }

    /// <summary>Sets input <paramref name="index"/>, padding absent optional inputs before it with empty names.</summary>
    public void SetInput(OnnxNode node, int index, string tensor)
    {
        while (node.Inputs.Count < index)
            Graph.AppendInput(node, "");
        if (node.Inputs.Count == index)
            Graph.AppendInput(node, tensor);
        else
            Graph.ReplaceInput(node, index, tensor);
    }

    /// <summary>Replaces <paramref name="node"/> by a copy with only its first <paramref name="keep"/> outputs; returns the copy.</summary>
    public OnnxNode KeepOutputs(OnnxNode node, int keep)
    {
        var proto = node.Proto.Clone();
        while (proto.Output.Count > keep)
            proto.Output.RemoveAt(proto.Output.Count - 1);
        Graph.RemoveNode(node, replacingProducer: true);
        return Graph.AddNode(proto);
    }

    /// <summary>Renames the operator (the schemas' inputs, outputs and attributes must already match).</summary>
    public static void Rename(OnnxNode node, string opType) => node.Proto.OpType = opType;
}
