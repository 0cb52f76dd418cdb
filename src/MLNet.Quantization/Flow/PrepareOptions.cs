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

    /// <summary>
    /// ONNX Runtime intra-op threads for the calibration runs; 0 (the default) lets ORT choose. The quantized model does
    /// not depend on it: the same data gives the same bytes with any thread count (tested).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int CalibrationThreads
    {
        get => _calibrationThreads;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _calibrationThreads = value;
        }
    }

    private readonly int _calibrationThreads;
}
