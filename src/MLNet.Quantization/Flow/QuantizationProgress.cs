namespace MLNet.Quantization;

/// <summary>The stages of a quantization, in order.</summary>
public enum QuantizationStage
{
    /// <summary>Opset conversion, constant and BatchNorm folding, annotation, observers and weight statistics.</summary>
    Prepare,

    /// <summary>ONNX Runtime runs the float model over the calibration data (static mode); per-batch figures come as <see cref="Calibration.CalibrationProgress"/>.</summary>
    Calibrate,

    /// <summary>Quantization parameters are computed and the QDQ model is written.</summary>
    Convert,
}

/// <summary>A step of <see cref="QuantizationFlow.Prepare"/>, calibration or <see cref="PreparedModel.Convert"/> starting.</summary>
/// <param name="Stage">The stage the step belongs to.</param>
/// <param name="Step">What starts now, for a person to read, e.g. <c>folding constants</c>.</param>
/// <param name="Elapsed">Time since the stage began.</param>
public readonly record struct QuantizationProgress(QuantizationStage Stage, string Step, TimeSpan Elapsed)
{
    /// <inheritdoc />
    public override string ToString() => $"{Stage.ToString().ToLowerInvariant()}: {Step} ({Elapsed.TotalSeconds:F1} s)";
}
