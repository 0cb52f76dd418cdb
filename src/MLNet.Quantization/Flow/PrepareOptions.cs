namespace MLNet.Quantization;

/// <summary>Options of <see cref="QuantizationFlow.Prepare(Onnx.OnnxModel, Quantizer.Quantizer, PrepareOptions?)"/>.</summary>
public sealed class PrepareOptions
{
    /// <summary>Fold constant subgraphs with ONNX Runtime before annotating (default true).</summary>
    public bool FoldConstants { get; init; } = true;

    /// <summary>Fold BatchNormalization into the preceding Conv (default true).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Add output specs so that ONNX Runtime can fuse every quantized Conv/Gemm/MatMul (default true); see the README's
    /// note on QDQ placement.
    /// </summary>
    public bool CompleteForOrtFusion { get; init; } = true;
}
