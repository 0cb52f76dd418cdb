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
}
