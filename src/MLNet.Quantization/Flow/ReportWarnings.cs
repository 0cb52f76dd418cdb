using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>The warnings a <see cref="QuantizationReport"/> carries: conversions that did less than the user asked for.</summary>
internal static class ReportWarnings
{
    /// <summary>Warnings for a conversion in the given mode that quantized <paramref name="quantized"/> (op type → nodes) of <paramref name="graph"/>.</summary>
    public static IReadOnlyList<string> For(bool dynamic, IReadOnlyDictionary<string, int> quantized, OnnxGraph graph)
    {
        if (quantized.Count > 0)
            return [];
        int convs = graph.Nodes.Count(n => n.OpType is "Conv" or "ConvTranspose");
        if (dynamic)
        {
            string convNote = convs > 0
                ? $" Its {convs} Conv node(s) have no dynamic int8 kernel in ONNX Runtime's CPU execution provider; static mode (with calibration data) quantizes them."
                : "";
            return [$"dynamic mode found nothing to quantize: it quantizes only MatMul and Gemm nodes with a constant weight, and this model has none; the output is the float model.{convNote}"];
        }

        return ["nothing was quantized: the quantizer annotated no node of this model; the output is the float model."];
    }

    /// <summary>A warning when ONNX Runtime left quantized compute in float: Q/DQ cost with no int8 kernel to pay for it.</summary>
    public static IReadOnlyList<string> Unfused(Runtime.OrtInt8Census? census) => census is not { UnfusedCompute.Count: > 0 } ? [] :
        [$"ONNX Runtime fuses {census.Int8KernelCount} int8 kernel(s) but runs {census.UnfusedCompute.Count} quantized node(s) in float on dequantized inputs "
            + $"({string.Join(", ", census.UnfusedCompute.Take(5))}{(census.UnfusedCompute.Count > 5 ? ", ..." : "")}): they pay the QuantizeLinear/DequantizeLinear cost and run no faster; exclude them if speed matters"];

    /// <summary>The fused kernels that multiply uint8 activations by int8 weights (keys of <see cref="Runtime.OrtInt8Census.Int8Kernels"/>).</summary>
    private static readonly string[] UInt8TimesInt8Kernels = ["QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul"];

    /// <summary>
    /// The output SQNR from which 7-bit activations are not worth suggesting. Measured on a Zen 2 CPU without VNNI
    /// (256 Fashion-MNIST samples): 7-bit activations cost fmnist_cnn 41.9 → 38.3 dB and fmnist_mobile 39.7 → 35.6 dB,
    /// and gave fmnist_rowtf 24.2 → 40.8 dB, where saturation had dominated the error.
    /// </summary>
    public const double SaturationAdviceBelowDb = 30;

    /// <summary>
    /// A warning when this CPU's ONNX Runtime adds pairs of uint8 × int8 products in saturating int16 (x86 without VNNI:
    /// <c>VPMADDUBSW</c>) and the model multiplies full-range uint8 activations by full-range int8 weights, where a pair
    /// can exceed 32,767 (255 · 127 · 2). 7-bit activations keep every pair below it (127 · 128 · 2 = 32,512), at the
    /// cost of one bit, so the warning is given only where the measured output SQNR leaves room for a gain.
    /// </summary>
    /// <param name="census">What ORT fuses.</param>
    /// <param name="fullRangeProducts">The conversion has uint8 activations and int8 weights on more than 7 bits each.</param>
    /// <param name="outputSqnrDb">The measured output SQNR; at or above <see cref="SaturationAdviceBelowDb"/> no warning is given.</param>
    /// <param name="exact">Whether the CPU's kernel is exact (<see cref="Runtime.OrtU8S8Probe.IsExact"/>); asked only when the other conditions hold.</param>
    public static IReadOnlyList<string> Saturating(Runtime.OrtInt8Census? census, bool fullRangeProducts, double? outputSqnrDb, Func<bool> exact)
    {
        if (!fullRangeProducts || census is null || outputSqnrDb >= SaturationAdviceBelowDb)
            return [];
        var kernels = census.Int8Kernels.Keys.Where(k => UInt8TimesInt8Kernels.Any(op => k.EndsWith(op, StringComparison.Ordinal))).Order(StringComparer.Ordinal).ToList();
        if (kernels.Count == 0 || exact())
            return [];
        return [$"this CPU has no VNNI: ONNX Runtime's uint8 × int8 kernels ({string.Join(", ", kernels)}) add pairs of products in saturating int16 here, "
            + $"so a large activation times a large weight can clip, and the output SQNR of {outputSqnrDb?.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) ?? "(not measured)"} dB "
            + "measured here may owe much to it; try 7-bit activations, which cannot clip but lose one bit, and keep the better "
            + "(--reduce-range, QuantizationOptions.ReduceRange, X86Quantizer.GetDefaultConfig(reduceRange: true)); a CPU with VNNI runs this model exactly"];
    }
}
