using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Chooses the float graph a quantized model is compared against, and tells whether a tensor name means the same value
/// in both graphs.
/// </summary>
/// <remarks>
/// A model written by this library records how its float graph was prepared (<see cref="FloatReferenceMetadata"/>):
/// constants and BatchNorm folded. Its QuantizeLinear nodes read tensors of that prepared graph under their own names,
/// and after BatchNorm folding a Conv's output name carries the folded (post-BN) value, which in the original float
/// model is the pre-BN value. So the reference is that prepared graph, rebuilt from the float model with the same
/// deterministic passes. For any other QDQ model the float model is used as given, and a name is trusted only when the
/// tensor's consumers have the same operator types in both graphs (seen through Q/DQ), which rejects, among others, a
/// tensor whose BatchNormalization was folded in one model only.
/// </remarks>
internal static class FloatReference
{
    private static readonly HashSet<string> FusedMatMuls = new(StringComparer.Ordinal) { "DynamicQuantizeMatMul", "MatMulIntegerToFloat" };
    private static readonly HashSet<string> FloatMatMuls = new(StringComparer.Ordinal) { "Gemm", "MatMul" };

    public static OnnxGraph Resolve(OnnxModel floatModel, OnnxModel quantizedModel, CancellationToken cancellationToken = default)
    {
        var options = FloatReferenceMetadata.Read(quantizedModel);
        return options is null ? OnnxGraph.FromModel(floatModel) : QuantizationFlow.PrepareFloatGraph(floatModel, options, out _, cancellationToken: cancellationToken);
    }

    /// <summary>Null when the tensor has the same kinds of consumers in both graphs; otherwise why not.</summary>
    public static string? ConsumerMismatch(OnnxGraph reference, string floatTensor, OnnxGraph quantized, string quantizedTensor)
    {
        var floatSide = new SortedSet<string>(reference.GetConsumers(floatTensor).Select(c => c.Node.OpType), StringComparer.Ordinal);
        if (reference.IsGraphOutput(floatTensor))
            floatSide.Add("(graph output)");
        var quantizedSide = QuantizedConsumers(quantized, quantizedTensor);
        floatSide.Remove("Shape"); // reads no values: a Shape added or dropped next to a rewritten linear says nothing of them
        quantizedSide.Remove("Shape");
        if (quantizedSide.RemoveWhere(FusedMatMuls.Contains) > 0)
            floatSide.RemoveWhere(FloatMatMuls.Contains); // ORT's fused dynamic MatMul/Gemm stand in for a float one
        if (floatSide.SetEquals(quantizedSide))
            return null;
        return $"its consumers differ (float model: {Describe(floatSide)}; quantized model: {Describe(quantizedSide)}), so the name may not denote the same value (e.g. a BatchNormalization folded in one model only)";
    }

    /// <summary>Operator types reading <paramref name="tensor"/>, looking through QuantizeLinear → DequantizeLinear pairs.</summary>
    public static SortedSet<string> QuantizedConsumers(OnnxGraph graph, string tensor)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        if (graph.IsGraphOutput(tensor))
            result.Add("(graph output)");
        foreach (var use in graph.GetConsumers(tensor))
        {
            if (use.Node.OpType is not ("QuantizeLinear" or "DynamicQuantizeLinear"))
            {
                result.Add(use.Node.OpType);
                continue;
            }

            string quantized = use.Node.Outputs[0];
            foreach (var (dq, flattened) in Dequantizers(graph, quantized))
                result.UnionWith(graph.GetConsumers(dq.Outputs[0]).Select(c => flattened && c.Node.OpType == "Gemm" ? "MatMul" : c.Node.OpType));
            foreach (var other in graph.GetConsumers(quantized).Where(c => c.Node.OpType != "DequantizeLinear" && !IsFlattening(graph, c.Node, quantized)))
                result.Add(other.Node.OpType);
        }

        return result;
    }

    /// <summary>
    /// The DequantizeLinear nodes reading the int8 tensor <paramref name="quantized"/>: directly, or through a Reshape
    /// that flattens it to 2-D for them alone (<paramref name="quantized"/> flattened: the form in which ORT fuses a
    /// MatMul over an N-D input into QGemm, where a Gemm reading the flattened tensor stands for the float MatMul). A
    /// Reshape keeps the values in order, so a flattened dequantized tensor compares value for value with the N-D one.
    /// </summary>
    public static IEnumerable<(OnnxNode Node, bool Flattened)> Dequantizers(OnnxGraph graph, string quantized)
    {
        foreach (var reader in graph.GetConsumers(quantized).Select(c => c.Node))
        {
            if (reader.OpType == "DequantizeLinear")
                yield return (reader, false);
            else if (IsFlattening(graph, reader, quantized))
            {
                foreach (var dq in graph.GetConsumers(reader.Outputs[0]))
                    yield return (dq.Node, true);
            }
        }
    }

    /// <summary>Whether <paramref name="node"/> is a Reshape of <paramref name="quantized"/> read only by DequantizeLinear nodes.</summary>
    private static bool IsFlattening(OnnxGraph graph, OnnxNode node, string quantized)
    {
        if (node.OpType != "Reshape" || node.Inputs[0] != quantized)
            return false;
        var readers = graph.GetConsumers(node.Outputs[0]);
        return readers.Count > 0 && readers.All(r => r.Node.OpType == "DequantizeLinear");
    }

    private static string Describe(SortedSet<string> ops) => ops.Count == 0 ? "none" : string.Join(", ", ops);
}
