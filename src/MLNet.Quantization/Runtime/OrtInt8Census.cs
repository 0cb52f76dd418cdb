namespace MLNet.Quantization.Runtime;

/// <summary>
/// What ONNX Runtime runs in int8 after optimizing a QDQ model, as opposed to what the quantizer annotated: the int8
/// kernels of its optimized graph (QLinearConv, QLinearMatMul, QGemm, MatMulInteger, DynamicQuantizeMatMul, QLinearAdd,
/// ...) by op type, and the quantized Conv/MatMul/Gemm it could not fuse and runs in float on dequantized inputs (for
/// example a Conv whose output also feeds float operators directly, which ORT's QDQ selector does not fuse).
/// </summary>
/// <param name="Int8Kernels">Int8 kernels of the optimized graph, keyed <c>domain:op</c> (domain omitted for ONNX).</param>
/// <param name="UnfusedCompute">Float Conv/MatMul/Gemm whose weight is a DequantizeLinear output, as <c>Conv 'name'</c>.</param>
public sealed record OrtInt8Census(IReadOnlyDictionary<string, int> Int8Kernels, IReadOnlyList<string> UnfusedCompute)
{
    private static readonly HashSet<string> OtherInt8Ops = new(StringComparer.Ordinal)
    {
        "MatMulInteger", "ConvInteger", "QGemm", "QAttention", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QEmbedLayerNormalization", "DynamicQuantizeLSTM",
    };

    /// <summary>Int8 kernels in all.</summary>
    public int Int8KernelCount => Int8Kernels.Values.Sum();

    /// <summary>True for an optimized op type (<c>domain:op</c>) that runs an int8 kernel.</summary>
    internal static bool IsInt8Kernel(string key)
    {
        string op = key[(key.LastIndexOf(':') + 1)..];
        return op.StartsWith("QLinear", StringComparison.Ordinal) || op.StartsWith("NhwcQLinear", StringComparison.Ordinal) || OtherInt8Ops.Contains(op);
    }

    /// <summary>One line: the int8 kernels, then the quantized compute left in float.</summary>
    public override string ToString() =>
        (Int8Kernels.Count == 0 ? "none" : string.Join(", ", Int8Kernels.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}")))
        + (UnfusedCompute.Count == 0 ? "" : $"; {UnfusedCompute.Count} quantized node(s) run in float on dequantized inputs: {string.Join(", ", UnfusedCompute)}");
}
