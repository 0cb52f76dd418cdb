using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Label-free repair: quantizes, and while the output SQNR of the check after convert (int8 against float on the first
/// <see cref="PrepareOptions.QualityCheckSamples"/> calibration samples, <see cref="QuantizationReport.OutputSqnrDb"/>)
/// is below the target, gives back to float the fewest layers, ranked by sensitivity, re-measuring after each.
/// </summary>
/// <remarks>
/// <para>The same search as <see cref="AccuracyAwareQuantizer"/>, with the output SQNR as the metric, so no labels are
/// needed: every candidate layer (a quantized node of <see cref="OutputSqnrRepairOptions.LayerOpTypes"/> in the first
/// conversion) is measured alone in float, the layers are ranked by the SQNR reached (higher first, then graph order)
/// and go back to float in that order until the target is met. Each trial prepares, calibrates on the same batches
/// and converts again.</para>
/// <para>When the fully quantized model meets the target, it is returned as it is: the same bytes as a plain
/// conversion. When every candidate is back in float and the target is still not met, the model with the best SQNR
/// seen (the fewest layers in float among equals) is returned and its report carries a warning naming the best SQNR
/// reached; nothing is thrown. Static mode only: dynamic mode has no calibration samples to compare on.</para>
/// </remarks>
public sealed class OutputSqnrRepair
{
    private readonly Func<X86Quantizer> _createQuantizer;
    private readonly PrepareOptions? _prepareOptions;

    /// <summary>Creates the repair.</summary>
    /// <param name="createQuantizer">Makes a configured static quantizer (a new instance per call); layers are excluded on top of its configs.</param>
    /// <param name="prepareOptions">Options for <see cref="QuantizationFlow.Prepare"/>; its <see cref="PrepareOptions.QualityCheckSamples"/> says how many calibration samples the SQNR is measured on.</param>
    public OutputSqnrRepair(Func<X86Quantizer> createQuantizer, PrepareOptions? prepareOptions = null)
    {
        _createQuantizer = createQuantizer ?? throw new ArgumentNullException(nameof(createQuantizer));
        _prepareOptions = prepareOptions;
    }

    /// <summary>Quantizes <paramref name="model"/> and repairs it up to the target output SQNR.</summary>
    /// <param name="model">The float model.</param>
    /// <param name="calibration">Calibration batches (enumerated once per conversion); the first ones are also the check samples.</param>
    /// <param name="options">The target and the candidate layer types.</param>
    /// <param name="cancellationToken">Cancels between conversions.</param>
    /// <returns>The quantized model; <see cref="QuantizationReport.Repair"/> holds every decision.</returns>
    /// <exception cref="ArgumentException">The target is not finite, there are no calibration batches, or <see cref="PrepareOptions.QualityCheckSamples"/> is 0.</exception>
    /// <exception cref="InvalidOperationException">The quantizer is dynamic, so nothing is calibrated and no output SQNR is measured.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    /// <example>
    /// Give back to float what it takes for the outputs to reach 30 dB against float:
    /// <code language="csharp">
    /// var repair = new OutputSqnrRepair(() =&gt; new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
    /// QuantizedModel int8 = repair.Run(OnnxModel.Load("det.onnx"), calibrationBatches, new OutputSqnrRepairOptions { MinOutputSqnrDb = 30 });
    /// Console.WriteLine(int8.Report.Repair);       // each layer given back, with the output SQNR before and after
    /// int8.Save("det.int8.onnx");
    /// </code>
    /// </example>
    public QuantizedModel Run(OnnxModel model, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration, OutputSqnrRepairOptions options, CancellationToken cancellationToken = default)
    {
        CheckArguments(model, calibration, options);
        if (calibration.Count == 0)
            throw new ArgumentException("The output-SQNR repair needs calibration batches: the output SQNR is measured on the first of them.", nameof(calibration));
        return RunStreamed(model, calibration, options, cancellationToken);
    }

    private static void CheckArguments(OnnxModel model, IEnumerable<IReadOnlyList<NamedTensor>> calibration, OutputSqnrRepairOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        if (!double.IsFinite(options.MinOutputSqnrDb))
            throw new ArgumentException($"MinOutputSqnrDb must be a finite number of dB, got {options.MinOutputSqnrDb}.", nameof(options));
    }

    /// <summary>
    /// <see cref="Run"/> on batches enumerated again for every trial (each enumeration must give the same batches, as
    /// an ML.NET data view's cursors do), so that a trial holds one calibration batch and the check samples at a time.
    /// </summary>
    internal QuantizedModel RunStreamed(OnnxModel model, IEnumerable<IReadOnlyList<NamedTensor>> calibration, OutputSqnrRepairOptions options, CancellationToken cancellationToken = default)
    {
        CheckArguments(model, calibration, options);
        if ((_prepareOptions ?? new PrepareOptions()).QualityCheckSamples == 0)
            throw new ArgumentException("The output-SQNR repair measures on the check samples after convert; PrepareOptions.QualityCheckSamples must be above 0.", nameof(options));

        if (_createQuantizer() is { IsDynamicMode: true })
            throw new InvalidOperationException("The output-SQNR repair needs static quantization: a dynamic quantizer calibrates nothing, so no output SQNR is measured.");

        // with every static activation back in float nothing is calibrated or checked, and the model is the float one
        var search = new FloatFallbackSearch(_createQuantizer, _prepareOptions, model, calibration, quantized =>
        {
            double db = quantized.Report.OutputSqnrDb
                ?? (quantized.Report.QuantizedNodesByOpType.Count == 0 ? double.PositiveInfinity : double.NaN);
            return (db, db);
        }, cancellationToken);
        var outcome = search.Run(options.LayerOpTypes, db => db >= options.MinOutputSqnrDb,
            db => $"output SQNR {SqnrReport.FormatDb(db)} dB", options.Log);

        var decisions = new List<SqnrRepairDecision>();
        double before = outcome.First.Score;
        foreach (var step in outcome.Steps.Take(outcome.BestStepCount))
        {
            decisions.Add(new SqnrRepairDecision(decisions.Count + 1, step.Layer.NodeName, step.Layer.OpType, before, step.Trial.Score));
            before = step.Trial.Score;
        }

        var best = search.Final(outcome.Best);
        var result = new OutputSqnrRepairResult(options.MinOutputSqnrDb, outcome.First.Score, outcome.Best.Score, outcome.TargetMet, decisions, outcome.Layers,
            best.Report.CheckedSamples);
        return new QuantizedModel(best.Model, best.Report.WithRepair(result));
    }
}

/// <summary>Options of <see cref="OutputSqnrRepair"/>.</summary>
public sealed class OutputSqnrRepairOptions
{
    /// <summary>
    /// The output SQNR to reach, in dB (int8 against float on the check samples; the lowest over the float outputs).
    /// 20 dB keeps an output within about 10 % RMS of float, 30 dB within about 3 %.
    /// </summary>
    public required double MinOutputSqnrDb { get; init; }

    /// <summary>The operator types that count as layers to give back to float (default Conv, ConvTranspose, Gemm, MatMul).</summary>
    public IReadOnlySet<string> LayerOpTypes { get; init; } = new HashSet<string>(StringComparer.Ordinal) { "Conv", "ConvTranspose", "Gemm", "MatMul" };

    /// <summary>Receives one line per trial (sensitivity and decisions).</summary>
    public IProgress<string>? Log { get; init; }
}

/// <summary>One layer the repair gave back to float, with the output SQNR before and after.</summary>
/// <param name="Step">1 for the first layer given back.</param>
/// <param name="NodeName">The layer's node.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="SqnrBeforeDb">The output SQNR before this decision, in dB.</param>
/// <param name="SqnrAfterDb">The output SQNR with this layer (and all before it) in float, in dB.</param>
public sealed record SqnrRepairDecision(int Step, string NodeName, string OpType, double SqnrBeforeDb, double SqnrAfterDb);

/// <summary>What <see cref="OutputSqnrRepair"/> decided, in <see cref="QuantizationReport.Repair"/>.</summary>
public sealed class OutputSqnrRepairResult
{
    internal OutputSqnrRepairResult(double targetDb, double initialDb, double finalDb, bool targetMet, IReadOnlyList<SqnrRepairDecision> decisions, IReadOnlyList<string> layers, long samples)
    {
        TargetDb = targetDb;
        InitialSqnrDb = initialDb;
        FinalSqnrDb = finalDb;
        TargetMet = targetMet;
        Decisions = decisions;
        Layers = layers;
        Samples = samples;
    }

    /// <summary>The output SQNR asked for, in dB.</summary>
    public double TargetDb { get; }

    /// <summary>The output SQNR with every candidate layer quantized.</summary>
    public double InitialSqnrDb { get; }

    /// <summary>The output SQNR of the model returned.</summary>
    public double FinalSqnrDb { get; }

    /// <summary>True when <see cref="FinalSqnrDb"/> ≥ <see cref="TargetDb"/>.</summary>
    public bool TargetMet { get; }

    /// <summary>The layers given back to float, in order (empty when the fully quantized model met the target).</summary>
    public IReadOnlyList<SqnrRepairDecision> Decisions { get; }

    /// <summary>The candidate layers of the first conversion, in graph order.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>The layers of <see cref="Layers"/> still quantized in the model returned.</summary>
    public int QuantizedLayerCount => Layers.Count - Decisions.Count;

    /// <summary>The calibration samples the SQNR was measured on.</summary>
    public long Samples { get; }

    /// <summary>The warning when the target was not met, naming the best SQNR reached; null when it was.</summary>
    public string? Warning => TargetMet ? null : string.Create(CultureInfo.InvariantCulture,
        $"the output SQNR target of {TargetDb:F2} dB was not reached even with every candidate layer in float: the best reached is {SqnrReport.FormatDb(FinalSqnrDb)} dB with {Decisions.Count} of {Layers.Count} layers in float{(Decisions.Count > 0 ? $" [{string.Join(", ", Decisions.Select(d => d.NodeName))}]" : "")}; that model was written. The loss is outside the candidate layers (activations of other ops), or in the calibration data");

    /// <inheritdoc />
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"output SQNR repair: target ≥ {TargetDb:F2} dB on {Samples} calibration samples; fully quantized {SqnrReport.FormatDb(InitialSqnrDb)} dB"),
        };
        lines.AddRange(Decisions.Select(d => string.Create(c,
            $"  step {d.Step}: {d.OpType} '{d.NodeName}' back to float: {SqnrReport.FormatDb(d.SqnrBeforeDb)} → {SqnrReport.FormatDb(d.SqnrAfterDb)} dB")));
        lines.Add(string.Create(c, $"  result: {SqnrReport.FormatDb(FinalSqnrDb)} dB, {QuantizedLayerCount}/{Layers.Count} layers quantized, target {(TargetMet ? "met" : "not met")}"));
        return string.Join(Environment.NewLine, lines);
    }
}
