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
    public AccuracyAwareResult Run(OnnxModel model, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration, EvaluationSet evaluation, AccuracyAwareOptions options, CancellationToken cancellationToken = default)
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
        var run = new Session(this, model, calibration, evaluation, options, floatOutputs, cancellationToken);
        var (first, prepared) = run.Quantize([]);
        var layers = prepared.QuantizedNodes.Where(n => options.LayerOpTypes.Contains(n.OpType)).Select(n => (n.Name, n.OpType)).ToList();
        var layerNames = layers.Select(l => l.Name).ToList();
        Log(options, $"float metric {floatMetric:F4}; fully quantized {first.Metric:F4} (drop {floatMetric - first.Metric:F4}); {layers.Count} layers");
        if (floatMetric - first.Metric <= options.MaxDrop)
            return new AccuracyAwareResult(first.Model, floatMetric, first.Metric, first.Metric, options.MaxDrop, [], [], layerNames);

        var sensitivity = new List<(LayerSensitivity Layer, int Order)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var m = run.Measure([layers[i].Name]);
            sensitivity.Add((new LayerSensitivity(layers[i].Name, layers[i].OpType, m.Metric, m.OutputSqnrDb), i));
            Log(options, $"sensitivity: {layers[i].OpType} '{layers[i].Name}' alone in float → {m.Metric:F4}, output SQNR {SqnrReport.FormatDb(m.OutputSqnrDb)} dB");
        }

        var ranked = sensitivity
            .OrderByDescending(s => s.Layer.Metric)
            .ThenByDescending(s => double.IsNaN(s.Layer.OutputSqnrDb) ? double.NegativeInfinity : s.Layer.OutputSqnrDb)
            .ThenBy(s => s.Order)
            .Select(s => s.Layer).ToList();

        var excluded = new List<string>();
        var decisions = new List<AccuracyDecision>();
        AccuracyAwareResult best = new(first.Model, floatMetric, first.Metric, first.Metric, options.MaxDrop, ranked, [], layerNames);
        foreach (var layer in ranked)
        {
            excluded.Add(layer.NodeName);
            var m = run.Measure(excluded);
            decisions.Add(new AccuracyDecision(decisions.Count + 1, layer.NodeName, layer.OpType, m.Metric, floatMetric - m.Metric));
            Log(options, $"step {decisions.Count}: {layer.OpType} '{layer.NodeName}' back to float → {m.Metric:F4} (drop {floatMetric - m.Metric:F4})");
            var current = new AccuracyAwareResult(m.Model, floatMetric, first.Metric, m.Metric, options.MaxDrop, ranked, decisions.ToList(), layerNames);
            if (m.Metric > best.Metric)
                best = current;
            if (current.TargetMet)
                return current;
        }

        throw new AccuracyTargetNotMetException(best);
    }

    private static void Log(AccuracyAwareOptions options, FormattableString message) =>
        options.Log?.Report(message.ToString(CultureInfo.InvariantCulture));

    /// <summary>One tuning run: conversions with given layers in float, measured against the float outputs, memoized.</summary>
    private sealed class Session(
        AccuracyAwareQuantizer owner, OnnxModel model, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration, EvaluationSet evaluation,
        AccuracyAwareOptions options, float[] floatOutputs, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, Measurement> _cache = new(StringComparer.Ordinal);

        public (Measurement Result, PreparedModel Prepared) Quantize(IReadOnlyList<string> inFloat)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var quantizer = owner._createQuantizer() ?? throw new InvalidOperationException("The quantizer factory returned null.");
            foreach (var name in inFloat)
                quantizer.SetNodeName(name, null);
            var prepared = QuantizationFlow.Prepare(model, quantizer, owner._prepareOptions, cancellationToken);
            if (prepared.NeedsCalibration)
                prepared.Calibrate(calibration, cancellationToken: cancellationToken);
            var quantized = prepared.Convert();
            float[] outputs;
            using (var runner = new ModelRunner(quantized.Model))
                outputs = runner.Run(evaluation.Samples, evaluation.Labels.Count);
            var result = new Measurement(quantized, options.Metric(outputs, evaluation.Labels), Sqnr.Compute(floatOutputs, outputs));
            _cache[Key(inFloat)] = result;
            return (result, prepared);
        }

        public Measurement Measure(IReadOnlyList<string> inFloat) =>
            _cache.TryGetValue(Key(inFloat), out var cached) ? cached : Quantize(inFloat).Result;

        private static string Key(IEnumerable<string> names) => string.Join('\n', names.Order(StringComparer.Ordinal));
    }

    private sealed record Measurement(QuantizedModel Model, double Metric, double OutputSqnrDb);
}
