namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// The bars a quantized model must clear, for <see cref="QuantizedModelCheckResult.Ensure(QuantizationGate)"/>. Each bar
/// is optional; a <c>null</c> one is not checked.
/// </summary>
/// <example>
/// <code>
/// var gate = new QuantizationGate { MinOutputSqnrDb = 20, MinTop1Agreement = 0.99, MaxMetricDrop = 0.005 };
/// QuantizedModelCheck.Run(floatModel, int8Model, evaluation).Ensure(gate);
/// </code>
/// </example>
public sealed record QuantizationGate
{
    /// <summary>The lowest SQNR of the model's first output, float against int8, in dB.</summary>
    public double? MinOutputSqnrDb { get; init; }

    /// <summary>The lowest share of samples whose arg-max agrees between the float and the int8 model (0..1).</summary>
    public double? MinTop1Agreement { get; init; }

    /// <summary>The largest drop of the task metric, float minus int8 (for top-1 accuracy a fraction: 0.005 = half a point).</summary>
    public double? MaxMetricDrop { get; init; }
}
