namespace MLNet.Quantization;

/// <summary>
/// Which values one dynamic activation range covers when <see cref="QuantizedModelTransformer"/> scores many rows per
/// ONNX Runtime run (<see cref="QuantizationMode.Dynamic"/>, or any model with run-time activation quantization).
/// </summary>
/// <example>
/// PyTorch's dynamic linear semantics, ranges over the whole batch:
/// <code language="csharp">
/// var options = new QuantizationOptions { ModelFile = "encoder.onnx", Mode = QuantizationMode.Dynamic, DynamicRangeScope = DynamicRangeScope.PerBatch };
/// </code>
/// </example>
public enum DynamicRangeScope
{
    /// <summary>
    /// The default: a model with run-time activation ranges scores one row per ONNX Runtime run, on the exported QDQ
    /// model itself, so its outputs equal those of the exported model (and of ML.NET's <c>OnnxTransformer</c> after
    /// <c>mlContext.Model.Load</c>) bit for bit. The slowest of the three; see docs/dynamic-scoring.md for the measured
    /// rows/s of each.
    /// </summary>
    SingleRow,

    /// <summary>
    /// Each row gets its own activation range, many rows per run, so a row's outputs do not depend on the rows scored with it,
    /// and equal the exported QDQ model's outputs for that row alone, up to float rounding (the zero-point term is subtracted after the product). Each
    /// dynamic linear runs as ORT's int8 <c>MatMulIntegerToFloat</c> with per-row scales and zero points (see
    /// docs/dynamic-scoring.md). When the model has a
    /// dynamic quantization that has no per-row form, or a row's result is found to depend on its batch mates, it
    /// scores one row per run instead (<see cref="QuantizedModelTransformer.ScoringBatchSize"/> is then 1).
    /// </summary>
    PerRow,

    /// <summary>
    /// One range per tensor over all the rows of a run, as PyTorch's dynamic linear and ONNX DynamicQuantizeLinear
    /// compute it; ORT runs its fused <c>DynamicQuantizeMatMul</c>. A row's outputs then depend slightly on which rows
    /// share its batch of <see cref="QuantizationOptions.ScoringBatchSize"/>.
    /// </summary>
    PerBatch,
}
