using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Diagnostics;

/// <summary>Options of <see cref="QuantizedModelCheck.Run(Onnx.OnnxModel, Onnx.OnnxModel, EvaluationSet, QuantizedModelCheckOptions?, CancellationToken)"/>.</summary>
/// <example>
/// A metric other than top-1 accuracy, for a model whose input declares no fixed image size:
/// <code>
/// var options = new QuantizedModelCheckOptions
/// {
///     Metric = (outputs, labels) => MeanIoU(outputs, labels),
///     MetricName = "mean IoU",
///     SampleShape = [3, 512, 512],
/// };
/// QuantizedModelCheck.Run(floatModel, int8Model, evaluation, options).EnsureMetricDropAtMost(0.01);
/// </code>
/// </example>
public sealed class QuantizedModelCheckOptions
{
    /// <summary>
    /// The task metric, higher is better: the model's first output for every sample (back to back) and the labels.
    /// Top-1 accuracy by default.
    /// </summary>
    public Func<float[], IReadOnlyList<int>, double> Metric { get; init; } = ModelRunner.TopOneAgreement;

    /// <summary>The metric's name in messages (default <c>top-1 accuracy</c>).</summary>
    public string MetricName { get; init; } = "top-1 accuracy";

    /// <summary>
    /// The shape of one sample, without the batch dimension (e.g. <c>[1, 28, 28]</c>). Needed only when the float model's
    /// input does not declare fixed sizes after its batch dimension; otherwise read from the model.
    /// </summary>
    public IReadOnlyList<int>? SampleShape { get; init; }

    /// <summary>Samples per run of the side-by-side comparison (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>How many of the worst layers a result and a failure message name (default 3).</summary>
    public int WorstLayerCount { get; init; } = 3;
}
