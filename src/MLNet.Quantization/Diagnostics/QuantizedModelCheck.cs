using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Keeps a quantized model honest in a test suite: runs the float and the int8 model side by side on labelled samples
/// and measures what a team gates on — the output SQNR, the top-1 agreement, the task metric of both — plus the worst
/// layers from the numeric suite (<see cref="NumericSuite"/>). No test framework is referenced: the result's
/// <c>Ensure…</c> methods throw <see cref="QuantizationGateException"/>, which MSTest, xUnit and NUnit report as a failure.
/// </summary>
/// <remarks>
/// The model output is scored as deployed (ONNX Runtime with its optimizations, int8 kernels); activations are compared
/// at their quantization points as the numeric suite does. Single-input float models (as <see cref="EvaluationSet"/>).
/// </remarks>
/// <example>
/// An MSTest gate (see <c>examples/ModelGateTests</c>):
/// <code>
/// [TestMethod]
/// public void Int8ModelStaysWithinItsGate()
/// {
///     var evaluation = new EvaluationSet(test.Images, test.Labels);
///     QuantizedModelCheck.Run(floatModel, quantized.Model, evaluation)
///         .Ensure(new QuantizationGate { MinOutputSqnrDb = 20, MinTop1Agreement = 0.99, MaxMetricDrop = 0.005 });
/// }
/// </code>
/// </example>
public static class QuantizedModelCheck
{
    /// <summary>Compares <paramref name="quantizedModel"/> with <paramref name="floatModel"/> on <paramref name="data"/>.</summary>
    /// <param name="floatModel">The float model the int8 one was made from.</param>
    /// <param name="quantizedModel">The int8 (QDQ) model, from this library or another tool.</param>
    /// <param name="data">Labelled samples for the model's single float input.</param>
    /// <param name="options">Metric, sample shape, batch size, how many worst layers to name.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException">The samples do not fit the model input, or the options are out of range.</exception>
    public static QuantizedModelCheckResult Run(OnnxModel floatModel, OnnxModel quantizedModel, EvaluationSet data, QuantizedModelCheckOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(floatModel);
        ArgumentNullException.ThrowIfNull(quantizedModel);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new QuantizedModelCheckOptions();
        if (options.BatchSize < 1)
            throw new ArgumentException($"BatchSize must be at least 1, got {options.BatchSize}.", nameof(options));
        if (options.WorstLayerCount < 0)
            throw new ArgumentException($"WorstLayerCount must be 0 or more, got {options.WorstLayerCount}.", nameof(options));

        var (input, sampleShape) = ResolveInput(floatModel, data, options);
        double floatMetric = Metric(floatModel, data, options);
        double quantizedMetric = Metric(quantizedModel, data, options);
        var report = NumericSuite.Compare(floatModel, quantizedModel, Batches(data, input, sampleShape, options.BatchSize), cancellationToken);
        return new QuantizedModelCheckResult(report, floatMetric, quantizedMetric, options.MetricName, options.WorstLayerCount);
    }

    /// <summary>Compares the result of <see cref="PreparedModel.Convert"/> with the float model given to <see cref="QuantizationFlow.Prepare"/>.</summary>
    /// <inheritdoc cref="Run(OnnxModel, OnnxModel, EvaluationSet, QuantizedModelCheckOptions?, CancellationToken)"/>
    public static QuantizedModelCheckResult Run(OnnxModel floatModel, QuantizedModel quantized, EvaluationSet data, QuantizedModelCheckOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(quantized);
        return Run(floatModel, quantized.Model, data, options, cancellationToken);
    }

    private static double Metric(OnnxModel model, EvaluationSet data, QuantizedModelCheckOptions options)
    {
        using var runner = new ModelRunner(model);
        if (runner.SampleSize != data.SampleSize)
            throw new ArgumentException($"The samples have {data.SampleSize} values each, but model '{model.DisplayName}' takes {runner.SampleSize}.", nameof(data));
        return options.Metric(runner.Run(data.Samples, data.Labels.Count, options.BatchSize), data.Labels);
    }

    /// <summary>The float model's single input and one sample's shape (from the model, else from the options).</summary>
    private static (string Name, int[] SampleShape) ResolveInput(OnnxModel floatModel, EvaluationSet data, QuantizedModelCheckOptions options)
    {
        var inputs = OnnxGraph.FromModel(floatModel).Inputs;
        if (inputs.Count != 1 || inputs[0].ElementType != Graph.TensorElementType.Float)
            throw new ArgumentException($"The check needs a float model with one float input; '{floatModel.DisplayName}' has inputs {string.Join(", ", inputs)}.", nameof(floatModel));
        var declared = inputs[0].Shape;
        int[]? shape = options.SampleShape?.ToArray()
            ?? (declared is { Count: > 0 } && declared.Skip(1).All(d => d.Value is > 0) ? declared.Skip(1).Select(d => checked((int)d.Value!.Value)).ToArray() : null);
        if (shape is null)
            throw new ArgumentException($"Input {inputs[0]} has no fixed sample shape after its batch dimension; set {nameof(QuantizedModelCheckOptions)}.{nameof(QuantizedModelCheckOptions.SampleShape)}.", nameof(options));
        long size = shape.Aggregate(1L, (a, d) => a * d);
        if (size != data.SampleSize)
            throw new ArgumentException($"The samples have {data.SampleSize} values each, but sample shape [{string.Join(", ", shape)}] of input '{inputs[0].Name}' holds {size}.", nameof(data));
        return (inputs[0].Name, shape);
    }

    private static IEnumerable<IReadOnlyList<NamedTensor>> Batches(EvaluationSet data, string input, int[] sampleShape, int batchSize)
    {
        int size = data.SampleSize;
        for (int start = 0; start < data.Labels.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, data.Labels.Count - start);
            yield return [NamedTensor.FromFloats(input, data.Samples.AsSpan(start * size, n * size).ToArray(), [n, .. sampleShape])];
        }
    }
}
