using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Diagnostics;

/// <summary>A conversion with some layers in float: the model, the score the caller measured on it, and its output SQNR against float.</summary>
internal sealed record FallbackTrial(QuantizedModel Model, double Score, double OutputSqnrDb);

/// <summary>One layer given back to float, and the trial with it (and every layer before it) in float.</summary>
internal sealed record FallbackStep(LayerSensitivity Layer, FallbackTrial Trial);

/// <summary>
/// What the search found: the fully quantized trial, the candidate layers in graph order, the sensitivity ranking
/// (empty when the first trial met the target), the steps taken, and whether the last step met the target.
/// </summary>
/// <param name="First">The trial with no layer in float.</param>
/// <param name="Layers">The candidate layers, in graph order.</param>
/// <param name="Ranked">The sensitivity analysis, most harmful layer first.</param>
/// <param name="Steps">The layers given back, in order; when the target was met, the last one met it.</param>
/// <param name="TargetMet">True when <see cref="First"/> or the last step met the target.</param>
/// <param name="BestStepCount">How many of <see cref="Steps"/> the best-scoring trial took (0: <see cref="First"/>); the earliest among equals.</param>
internal sealed record FallbackOutcome(FallbackTrial First, IReadOnlyList<string> Layers, IReadOnlyList<LayerSensitivity> Ranked, IReadOnlyList<FallbackStep> Steps, bool TargetMet, int BestStepCount)
{
    /// <summary>The trial of the first <see cref="BestStepCount"/> steps.</summary>
    public FallbackTrial Best => BestStepCount == 0 ? First : Steps[BestStepCount - 1].Trial;
}

/// <summary>
/// The search both accuracy-aware quantization and the output-SQNR repair run: quantize; while the score misses the
/// target, measure every candidate layer alone in float, rank them (highest score first, then highest output SQNR,
/// then graph order) and give them back to float one at a time in that order, re-measuring after each, until the
/// target is met. Each trial prepares the model with a fresh quantizer from the factory, the layers in float through
/// <see cref="X86Quantizer.SetNodeName"/> with <c>null</c>. The first trial calibrates on every batch and its
/// statistics are held; a later trial takes the statistics of each group whose identity is unchanged (same observer
/// settings, same tensors observed in the same order) and calibrates only its new groups on the same batches
/// (enumerating <c>calibration</c> again, so it may stream them), or not at all when no group is new. It converts without ORT's int8 census, which only the model the
/// caller returns needs (<see cref="Final"/>). Trials are memoized by their set of float layers, so the same inputs
/// give the same decisions.
/// </summary>
internal sealed class FloatFallbackSearch(
    Func<X86Quantizer> createQuantizer, PrepareOptions? prepareOptions, OnnxModel model, IEnumerable<IReadOnlyList<NamedTensor>> calibration,
    Func<QuantizedModel, (double Score, double OutputSqnrDb)> score, CancellationToken cancellationToken)
{
    private readonly Dictionary<string, FallbackTrial> _cache = new(StringComparer.Ordinal);
    private HeldStatistics? _held;

    /// <summary>Runs the search.</summary>
    /// <param name="layerOpTypes">Operator types of the quantized nodes that are candidates.</param>
    /// <param name="targetMet">Whether a score meets the target.</param>
    /// <param name="describe">How a score reads in the log, e.g. <c>0.8512 (drop 0.0021)</c>.</param>
    /// <param name="log">Receives one line per trial; null for none.</param>
    public FallbackOutcome Run(IReadOnlySet<string> layerOpTypes, Func<double, bool> targetMet, Func<double, string> describe, IProgress<string>? log)
    {
        var (first, layers) = Start(layerOpTypes);
        var layerNames = layers.Select(l => l.Name).ToList();
        Log(log, $"fully quantized {describe(first.Score)}; {layers.Count} layers");
        if (targetMet(first.Score))
            return new FallbackOutcome(first, layerNames, [], [], true, 0);

        var sensitivity = new List<(LayerSensitivity Layer, int Order)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var m = Measure([layers[i].Name]);
            sensitivity.Add((new LayerSensitivity(layers[i].Name, layers[i].OpType, m.Score, m.OutputSqnrDb), i));
            Log(log, $"sensitivity: {layers[i].OpType} '{layers[i].Name}' alone in float → {describe(m.Score)}, output SQNR {SqnrReport.FormatDb(m.OutputSqnrDb)} dB");
        }

        var ranked = sensitivity
            .OrderByDescending(s => s.Layer.Metric)
            .ThenByDescending(s => double.IsNaN(s.Layer.OutputSqnrDb) ? double.NegativeInfinity : s.Layer.OutputSqnrDb)
            .ThenBy(s => s.Order)
            .Select(s => s.Layer).ToList();

        var excluded = new List<string>();
        var steps = new List<FallbackStep>();
        int best = 0;
        double bestScore = first.Score;
        foreach (var layer in ranked)
        {
            excluded.Add(layer.NodeName);
            var m = Measure(excluded);
            steps.Add(new FallbackStep(layer, m));
            Log(log, $"step {steps.Count}: {layer.OpType} '{layer.NodeName}' back to float → {describe(m.Score)}");
            if (m.Score > bestScore)
                (best, bestScore) = (steps.Count, m.Score);
            if (targetMet(m.Score))
                return new FallbackOutcome(first, layerNames, ranked, steps, true, steps.Count);
        }

        return new FallbackOutcome(first, layerNames, ranked, steps, false, best);
    }

    /// <summary>The fully quantized trial and its candidate layers (quantized nodes of <paramref name="layerOpTypes"/>), in graph order.</summary>
    public (FallbackTrial First, IReadOnlyList<(string Name, string OpType)> Layers) Start(IReadOnlySet<string> layerOpTypes)
    {
        var (first, prepared) = Quantize([]);
        return (first, prepared.QuantizedNodes.Where(n => layerOpTypes.Contains(n.OpType)).Select(n => (n.Name, n.OpType)).ToList());
    }

    /// <summary>The trial with <paramref name="inFloat"/> in float (memoized).</summary>
    public FallbackTrial Trial(IReadOnlyList<string> inFloat) => Measure(inFloat);

    private (FallbackTrial Result, PreparedModel Prepared) Quantize(IReadOnlyList<string> inFloat)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var quantizer = createQuantizer() ?? throw new InvalidOperationException("The quantizer factory returned null.");
        foreach (var name in inFloat)
            quantizer.SetNodeName(name, null);
        var prepared = QuantizationFlow.Prepare(model, quantizer, prepareOptions, cancellationToken);
        if (prepared.NeedsCalibration)
            Calibrate(prepared);
        var quantized = prepared.ConvertWithoutOrtCensus();
        var (value, sqnr) = score(quantized);
        var result = new FallbackTrial(quantized, value, sqnr);
        _cache[Key(inFloat)] = result;
        return (result, prepared);
    }

    /// <summary>
    /// Calibrates a trial: the first in full, keeping its statistics; a later one takes the statistics of every group
    /// the first observed identically and observes only the others (none: <c>calibration</c> is not enumerated).
    /// </summary>
    private void Calibrate(PreparedModel prepared)
    {
        if (_held is null)
        {
            prepared.Calibrate(calibration, cancellationToken: cancellationToken);
            CalibrationRuns++;
            _held = prepared.HoldStatistics();
            return;
        }

        if (prepared.CalibrateReusing(_held, calibration, cancellationToken).Observed > 0)
            CalibrationRuns++;
    }

    /// <summary>How many trials ran calibration over the data (in full, or for their new groups only).</summary>
    internal int CalibrationRuns { get; private set; }

    /// <summary>The model of <paramref name="trial"/> as the search returns it: with <see cref="QuantizationReport.OrtInt8"/> counted.</summary>
    public QuantizedModel Final(FallbackTrial trial) =>
        trial.Model.WithOrtInt8Census(new StageReporter(prepareOptions?.Progress, QuantizationStage.Convert));

    private FallbackTrial Measure(IReadOnlyList<string> inFloat) =>
        _cache.TryGetValue(Key(inFloat), out var cached) ? cached : Quantize(inFloat).Result;

    private static string Key(IEnumerable<string> names) => string.Join('\n', names.Order(StringComparer.Ordinal));

    private static void Log(IProgress<string>? log, FormattableString message) => log?.Report(message.ToString(CultureInfo.InvariantCulture));
}
