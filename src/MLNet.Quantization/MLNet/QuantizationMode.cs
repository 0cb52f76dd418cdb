namespace MLNet.Quantization;

/// <summary>How <see cref="QuantizationEstimator"/> quantizes activations.</summary>
public enum QuantizationMode
{
    /// <summary>Static post-training quantization: activation ranges are calibrated on the data passed to <c>Fit</c>.</summary>
    Static,

    /// <summary>
    /// Dynamic quantization: activation ranges are computed at run time (Gemm/MatMul with constant weights only).
    /// <c>Fit</c> reads no rows. Ranges are per row by default, so batched scoring gives each row the outputs it has alone; see <see cref="DynamicRangeScope"/>.
    /// </summary>
    Dynamic,
}
