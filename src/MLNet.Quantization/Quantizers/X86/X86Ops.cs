namespace MLNet.Quantization.Quantizers;

/// <summary>
/// The operator sets of <see cref="X86Quantizer"/>'s recipe, each defined once and built from the others, as
/// X86InductorQuantizer's <c>default_quantizable_ops</c>, <c>propagation_quantizable_ops</c> and <c>quantizable_ops</c>.
/// </summary>
internal static class X86Ops
{
    /// <summary>The ops that anchor a fusion pattern (step 1): Conv, and the linear ops Gemm and MatMul.</summary>
    public static readonly IReadOnlySet<string> PatternAnchors = Set("Conv", "Gemm", "MatMul");

    /// <summary>Pools: int8 in, int8 out.</summary>
    public static readonly IReadOnlySet<string> Pools = Set("MaxPool", "AveragePool", "GlobalAveragePool");

    /// <summary>
    /// Layout ops worth running in int8 only when a consumer runs in int8. Flatten follows X86InductorQuantizer's rule
    /// (some consumer has a quantizable operator type); Reshape and Transpose, which X86InductorQuantizer does not
    /// propagate through, need a consumer that actually quantizes the tensor, directly or through more layout ops, so
    /// that transformer shape plumbing feeding float ops gets no useless Q/DQ.
    /// </summary>
    public static readonly IReadOnlySet<string> Layout = Set("Flatten", "Reshape", "Transpose");

    /// <summary>The int8-in-int8-out ops annotated by propagation (step 2): pools, layout ops and Concat.</summary>
    public static readonly IReadOnlySet<string> Propagation = Set([.. Pools, .. Layout, "Concat"]);

    /// <summary>X86InductorQuantizer's <c>quantizable_ops</c>, in ONNX terms: pattern anchors and propagation ops.</summary>
    public static readonly IReadOnlySet<string> Quantizable = Set([.. PatternAnchors, .. Propagation]);

    private static HashSet<string> Set(params string[] ops) => new(ops, StringComparer.Ordinal);
}
