namespace MLNet.Quantization.Passes;

/// <summary>
/// An estimate, from shapes alone, of the multiply-adds one node takes: the compute ops count their inner products,
/// every other op the elements it reads and writes.
/// </summary>
internal static class FoldingWork
{
    /// <summary>The estimated multiply-adds of <paramref name="opType"/> over inputs and outputs of the given shapes.</summary>
    public static long Estimate(string opType, IReadOnlyList<IReadOnlyList<long>?> inputs, IReadOnlyList<IReadOnlyList<long>> outputs)
    {
        long outputElements = outputs.Aggregate(0L, (sum, s) => SaturatingAdd(sum, Elements(s)));
        long inputElements = inputs.Aggregate(0L, (sum, s) => SaturatingAdd(sum, s is null ? 0 : Elements(s)));
        long perOutput = opType switch
        {
            "MatMul" or "MatMulInteger" or "QLinearMatMul" => LastDim(At(inputs, 0)),
            "Gemm" => At(inputs, 0) is { Count: 2 } a ? Math.Max(a[0], a[1]) : 1, // K is one of A's dimensions, whichever way it is transposed
            "Conv" or "ConvInteger" => KernelVolume(At(inputs, 1)),
            "QLinearConv" => KernelVolume(At(inputs, 3)),
            _ => 1,
        };
        if (opType == "ConvTranspose")
            return SaturatingAdd(FoldingLimits.Saturating(Elements(At(inputs, 0)), KernelVolume(At(inputs, 1))), outputElements);
        return SaturatingAdd(FoldingLimits.Saturating(outputElements, Math.Max(perOutput, 1)), inputElements);
    }

    private static IReadOnlyList<long>? At(IReadOnlyList<IReadOnlyList<long>?> inputs, int index) => index < inputs.Count ? inputs[index] : null;

    private static long LastDim(IReadOnlyList<long>? shape) => shape is { Count: > 0 } ? shape[^1] : 1;

    /// <summary>Input channels per group × kernel elements: dimensions 1.. of the weight.</summary>
    private static long KernelVolume(IReadOnlyList<long>? weight) => weight is { Count: > 1 } ? Elements(weight.Skip(1).ToList()) : 1;

    private static long Elements(IReadOnlyList<long>? shape) => shape is null ? 0 : shape.Aggregate(1L, (p, d) => FoldingLimits.Saturating(p, Math.Max(d, 0)));

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
