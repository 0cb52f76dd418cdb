using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Accuracy-aware quantization: quantizes, measures the metric on labelled data and, while the drop from the float model
/// is above the target, gives layers back to float one at a time, most harmful first, re-measuring after each.
/// </summary>
/// <remarks>
/// <para>The sensitivity analysis quantizes the model once per candidate layer (the quantized Conv/Gemm/MatMul nodes of
/// the first conversion) with only that layer in float, and ranks layers by the metric reached (higher first), then by
/// the SQNR of the model output against the float model (higher first), then by graph order. Layers go back to float
/// through the quantizer's node-name config (<see cref="X86Quantizer.SetNodeName"/> with <c>null</c>), on a fresh
/// quantizer from the caller's factory each time, and are calibrated again on the same batches.</para>
/// <para>Everything is deterministic: the same model, quantizer, batches, evaluation set and metric give the same
/// decisions. When every layer has been given back and the target is still not met, it throws
/// <see cref="AccuracyTargetNotMetException"/> carrying the best result found.</para>
/// </remarks>
public sealed class AccuracyAwareQuantizer
{
    private readonly Func<X86Quantizer> _createQuantizer;
    private readonly PrepareOptions? _prepareOptions;

    /// <summary>Creates the tuner.</summary>
    /// <param name="createQuantizer">Makes a configured quantizer (a new instance per call); layers are excluded on top of its configs.</param>
    /// <param name="prepareOptions">Options for <see cref="QuantizationFlow.Prepare"/>.</param>
    public AccuracyAwareQuantizer(Func<X86Quantizer> createQuantizer, PrepareOptions? prepareOptions = null)
    {
        _createQuantizer = createQuantizer ?? throw new ArgumentNullException(nameof(createQuantizer));
        _prepareOptions = prepareOptions;
    }

    /// <summary>Quantizes <paramref name="model"/> within the allowed drop.</summary>
    /// <param name="model">A float model with one float input; its first output is what the metric reads.</param>
    /// <param name="calibration">Calibration batches (enumerated once per conversion).</param>
    /// <param name="evaluation">Labelled evaluation samples.</param>
    /// <param name="options">The target drop, the metric and the layer types.</param>
    /// <param name="cancellationToken">Cancels between conversions.</param>
    /// <returns>The first result within the target.</returns>
    /// <exception cref="AccuracyTargetNotMetException">Even with every layer given back the drop stays above the target.</exception>
    /// <exception cref="ArgumentException">The evaluation samples do not fit the model input, or the target is negative or not finite.</exception>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    /// <example>
    /// Lose at most half a point of top-1 against float:
    /// <code language="csharp">
    /// var tuner = new AccuracyAwareQuantizer(() =&gt; new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
    /// var result = tuner.Run(OnnxModel.Load("cnn.onnx"), calibrationBatches, new EvaluationSet(samples, labels),
    ///     new AccuracyAwareOptions { MaxDrop = 0.005 });
    /// result.Model.Save("cnn.int8.onnx");
    /// foreach (var decision in result.Decisions)
    ///     Console.WriteLine(decision);               // each layer given back to float, with the metric after it
    /// </code>
    /// </example>
    public AccuracyAwareResult Run(OnnxModel model, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration, EvaluationSet evaluation, AccuracyAwareOptions options, CancellationToken cancellationToken = default) =>
        RunStreamed(model, calibration, evaluation, options, cancellationToken);

    /// <summary>
    /// <see cref="Run"/> on batches enumerated again for every trial (each enumeration must give the same batches, as
    /// an ML.NET data view's cursors do), so that a trial holds one calibration batch at a time.
    /// </summary>
    internal AccuracyAwareResult RunStreamed(OnnxModel model, IEnumerable<IReadOnlyList<NamedTensor>> calibration, EvaluationSet evaluation, AccuracyAwareOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(evaluation);
        ArgumentNullException.ThrowIfNull(options);
        if (!double.IsFinite(options.MaxDrop) || options.MaxDrop < 0)
            throw new ArgumentException($"MaxDrop must be a finite value ≥ 0, got {options.MaxDrop}.", nameof(options));

        float[] floatOutputs;
        using (var floatRunner = new ModelRunner(model))
        {
            if (floatRunner.SampleSize != evaluation.SampleSize)
                throw new ArgumentException($"Evaluation samples have {evaluation.SampleSize} values each, but the model input takes {floatRunner.SampleSize}.", nameof(evaluation));
            floatOutputs = floatRunner.Run(evaluation.Samples, evaluation.Labels.Count, cancellationToken: cancellationToken);
        }

        double floatMetric = options.Metric(floatOutputs, evaluation.Labels);
        options.Log?.Report(string.Create(CultureInfo.InvariantCulture, $"float metric {floatMetric:F4}"));
        var search = new FloatFallbackSearch(_createQuantizer, _prepareOptions, model, calibration, quantized =>
        {
            float[] outputs;
            using (var runner = new ModelRunner(quantized.Model))
                outputs = runner.Run(evaluation.Samples, evaluation.Labels.Count);
            return (options.Metric(outputs, evaluation.Labels), Sqnr.Compute(floatOutputs, outputs));
        }, cancellationToken);
        var outcome = search.Run(options.LayerOpTypes, metric => floatMetric - metric <= options.MaxDrop,
            metric => string.Create(CultureInfo.InvariantCulture, $"{metric:F4} (drop {floatMetric - metric:F4})"), options.Log);

        var decisions = outcome.Steps
            .Select((s, i) => new AccuracyDecision(i + 1, s.Layer.NodeName, s.Layer.OpType, s.Trial.Score, floatMetric - s.Trial.Score)).ToList();
        AccuracyAwareResult Result(int steps)
        {
            var trial = steps == 0 ? outcome.First : outcome.Steps[steps - 1].Trial;
            return new(search.Final(trial), floatMetric, outcome.First.Score, trial.Score, options.MaxDrop, outcome.Ranked, decisions.Take(steps).ToList(), outcome.Layers);
        }

        if (outcome.TargetMet)
            return Result(outcome.Steps.Count);
        throw new AccuracyTargetNotMetException(Result(outcome.BestStepCount));
    }
}
