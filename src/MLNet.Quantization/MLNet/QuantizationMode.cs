namespace MLNet.Quantization;

/// <summary>How <see cref="QuantizationEstimator"/> quantizes activations.</summary>
public enum QuantizationMode
{
    /// <summary>Static post-training quantization: activation ranges are calibrated on the data passed to <c>Fit</c>.</summary>
    Static,

    /// <summary>
    /// Dynamic quantization: activation ranges are computed at run time (Gemm/MatMul with constant weights only).
    /// <c>Fit</c> reads no rows. Scoring runs one row per ONNX Runtime call, because dynamic ranges depend on the batch.
    /// </summary>
    Dynamic,
}
