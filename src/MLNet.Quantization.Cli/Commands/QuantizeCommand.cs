using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Cli.DataFiles;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>quantize --model IN.onnx --output OUT.onnx [options]</c>, as shared/CLI.md specifies.</summary>
internal static class QuantizeCommand
{
    /// <summary>What the tool prints when it is asked for <c>--mode qat</c> and has no QAT mode.</summary>
    public const string QatNeedsQatTool = "--mode qat needs the mlnet-quantize-qat tool (dotnet tool install --global mlnet-quantize-qat), which carries TorchSharp; mlnet-quantize does static and dynamic";

    public static Command Create(TextWriter stdout, IQatMode? qatMode)
    {
        var model = new Option<string>("--model") { Description = "The float ONNX model.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the QDQ model.", Required = true };
        var mode = new Option<string>("--mode")
        {
            Description = qatMode is null ? "static or dynamic (qat: the mlnet-quantize-qat tool)." : "static, dynamic or qat.",
            DefaultValueFactory = _ => "static",
        };
        mode.AcceptOnlyFromAmong("static", "dynamic", "qat");
        var calibrationData = new Option<string?>("--calibration-data") { Description = "Calibration samples (.npy, .npz or .csv); required for static and qat." };
        var calibrationSamples = new Option<int>("--calibration-samples") { Description = "Use the first N samples.", DefaultValueFactory = _ => 512 };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = "Calibration samples per ONNX Runtime run; a model whose batch dimension stays fixed runs that many instead.",
            DefaultValueFactory = _ => DefaultBatchSize,
        };
        var inputShapes = InputShapeOption.Create();
        var observer = new Option<string>("--activation-observer") { Description = "histogram, minmax, moving-average, percentile or entropy.", DefaultValueFactory = _ => "histogram" };
        observer.AcceptOnlyFromAmong("histogram", "minmax", "moving-average", "percentile", "entropy");
        var perChannel = new Option<string>("--per-channel") { Description = "Per-channel weights: true or false.", DefaultValueFactory = _ => "true" };
        perChannel.AcceptOnlyFromAmong("true", "false");
        var reduceRange = new Option<bool>("--reduce-range") { Description = "7-bit activations for CPUs without VNNI." };
        var narrowConvs = new Option<string>("--narrow-convs")
        {
            Description = "Group-1 convs with under 16 input channels not a multiple of 4 (image stems), and strided depthwise convs reading their float output: float (default; ONNX Runtime runs them faster that way) or int8.",
            DefaultValueFactory = _ => "float",
        };
        narrowConvs.AcceptOnlyFromAmong("float", "int8");
        var elementwise = new Option<string>("--elementwise")
        {
            Description = "Add and Mul between int8 tensors (hard-swish, squeeze-and-excitation gates, constant scales; a Div by a constant becomes a Mul by its reciprocal): float (default) or int8 (ONNX Runtime's QLinearAdd and QLinearMul). Static mode.",
            DefaultValueFactory = _ => "float",
        };
        elementwise.AcceptOnlyFromAmong("float", "int8");
        var exclude = new Option<string?>("--exclude") { Description = "Node names or op types to leave in float, comma-separated." };
        var json = new Option<string?>("--json") { Description = "Also write the summary as JSON." };
        var trainData = new Option<string?>("--train-data") { Description = "QAT training samples." };
        var trainLabels = new Option<string?>("--train-labels") { Description = "QAT training labels (.npy int64/int32)." };
        var epochs = new Option<int?>("--epochs") { Description = "QAT epochs." };
        var learningRate = new Option<double?>("--learning-rate") { Description = "QAT learning rate." };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Accuracy-aware mode: the largest top-1 drop allowed." };
        var evalData = new Option<string?>("--eval-data") { Description = "Accuracy-aware mode: evaluation samples." };
        var evalLabels = new Option<string?>("--eval-labels") { Description = "Accuracy-aware mode: evaluation labels." };
        var maxNodes = new Option<int>("--max-nodes")
        {
            Description = "Refuse models with more nodes than this (graph, subgraphs and functions); ONNX Runtime needs several KB per node.",
            DefaultValueFactory = _ => PrepareOptions.DefaultMaxNodeCount,
        };
        var minOutputSqnr = new Option<double?>("--min-output-sqnr")
        {
            Description = "Label-free repair (static mode): give back to float the fewest Conv/ConvTranspose/Gemm/MatMul layers, most harmful first, until the output SQNR against float on the check samples reaches this many dB.",
        };
        var calibrationMemory = new Option<int>("--calibration-memory")
        {
            Description = "The most MB one calibration run may hold in inputs and observed activations; fewer samples per run than --batch-size when they would need more. Peak memory then does not grow with --calibration-samples.",
            DefaultValueFactory = _ => DefaultCalibrationMemoryMB,
        };
        var biasCorrection = new Option<bool>("--bias-correction")
        {
            Description = "Static mode: correct each int8-weight Conv/ConvTranspose/Gemm/MatMul bias by the weight error times the layer's mean calibration input, so its mean output matches float.",
        };
        var crossLayerEqualization = new Option<bool>("--cross-layer-equalization")
        {
            Description = "Before observing the weights, equalize the per-channel weight ranges of each Conv → [Relu, LeakyRelu, pooling] → Conv pair (the float model computes the same function).",
        };
        var smoothQuant = new Option<double?>("--smooth-quant")
        {
            Description = "Static mode: SmoothQuant with migration strength ALPHA in (0, 1] (0.5 is usual): per input channel of each MatMul/Gemm with a constant weight, divide the activation by s = max|x|^α / max|w|^(1−α) and multiply the weight by s (the float model computes the same function); measured on the calibration data in a first pass.",
            HelpName = "ALPHA",
        };
        var speedAware = SpeedAwareSettings.Flag();
        var speedCache = SpeedAwareSettings.Cache();
        var speedBatch = SpeedAwareSettings.Batch();
        var speedThreads = SpeedAwareSettings.Threads();
        var layerTypes = new Option<string?>("--accuracy-layer-types") { Description = "Accuracy-aware mode: op types that may go back to float (default Conv,Gemm,MatMul)." };

        var timeout = TimeoutOption.Create();
        var maxFolded = ByteSizeOption.Create("--max-folded-bytes",
            "The most bytes one tensor made by constant folding may take (e.g. 512M, 2G); default: the larger of 64 MiB and 4× the model's weights.");

        var command = new Command("quantize", "Quantize a float ONNX model to QDQ int8 for ONNX Runtime.")
        {
            model, output, mode, calibrationData, calibrationSamples, batchSize, inputShapes, observer, perChannel, reduceRange, narrowConvs, elementwise, exclude, json,
            trainData, trainLabels, epochs, learningRate, maxDrop, evalData, evalLabels, layerTypes, timeout, maxFolded, maxNodes, minOutputSqnr, calibrationMemory, biasCorrection,
            crossLayerEqualization, smoothQuant, speedAware, speedCache, speedBatch, speedThreads,
        };
        command.SetAction(parse =>
        {
            var options = new Settings(
                parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(mode)!, parse.GetValue(calibrationData), parse.GetValue(calibrationSamples),
                parse.GetValue(observer)!, parse.GetValue(perChannel) == "true", parse.GetValue(reduceRange), parse.GetValue(exclude), parse.GetValue(json),
                parse.GetValue(trainData), parse.GetValue(trainLabels), parse.GetValue(epochs), parse.GetValue(learningRate),
                QuantizeNarrowConvs: parse.GetValue(narrowConvs) == "int8", BatchSize: parse.GetValue(batchSize),
                InputShapes: InputShapeOption.Parse(parse.GetValue(inputShapes)), TimeoutSeconds: parse.GetValue(timeout),
                MaxFoldedBytes: ByteSizeOption.Parse(parse.GetValue(maxFolded), "--max-folded-bytes"), MaxNodes: parse.GetValue(maxNodes),
                MinOutputSqnr: parse.GetValue(minOutputSqnr), CalibrationMemoryMB: parse.GetValue(calibrationMemory), BiasCorrection: parse.GetValue(biasCorrection),
                QuantizeElementwise: parse.GetValue(elementwise) == "int8", CrossLayerEqualization: parse.GetValue(crossLayerEqualization),
                SmoothQuant: parse.GetValue(smoothQuant),
                SpeedAware: parse.GetValue(speedAware), SpeedCache: parse.GetValue(speedCache), SpeedBatch: parse.GetValue(speedBatch), SpeedThreads: parse.GetValue(speedThreads));
            if (options.BiasCorrection && options.Mode != "static")
                throw new CliException($"--bias-correction works with --mode static (it needs the calibration means), not {options.Mode}");
            if (options.Mode == "qat")
            {
                if (qatMode is null)
                    throw new CliException(QatNeedsQatTool);
                var missing = new[] { ("--train-data", options.TrainData is null), ("--train-labels", options.TrainLabels is null), ("--epochs", options.Epochs is null), ("--learning-rate", options.LearningRate is null) }
                    .Where(m => m.Item2).Select(m => m.Item1).ToList();
                if (missing.Count > 0)
                    throw new CliException($"--mode qat needs {string.Join(", ", missing)}");
                if (options.Epochs < 1)
                    throw new CliException($"--epochs must be at least 1, got {options.Epochs}");
                if (options.LearningRate is not > 0 || !double.IsFinite(options.LearningRate.Value))
                    throw new CliException($"--learning-rate must be a positive number, got {options.LearningRate}");
            }

            return Run(options, AccuracyTarget(parse.GetValue(maxDrop), parse.GetValue(evalData), parse.GetValue(evalLabels), parse.GetValue(layerTypes)), qatMode, stdout);
        });
        return command;
    }

    /// <summary>The parsed options; TrainData to LearningRate are used by <c>--mode qat</c>.</summary>
    internal sealed record Settings(
        string Model, string Output, string Mode, string? CalibrationData, int CalibrationSamples, string Observer, bool PerChannel, bool ReduceRange, string? Exclude, string? Json,
        string? TrainData = null, string? TrainLabels = null, int? Epochs = null, double? LearningRate = null, bool QuantizeNarrowConvs = false,
        int BatchSize = DefaultBatchSize, IReadOnlyDictionary<string, int[]>? InputShapes = null, double? TimeoutSeconds = null, long? MaxFoldedBytes = null,
        int MaxNodes = PrepareOptions.DefaultMaxNodeCount, int CalibrationMemoryMB = DefaultCalibrationMemoryMB, double? MinOutputSqnr = null, bool BiasCorrection = false,
        bool QuantizeElementwise = false, bool CrossLayerEqualization = false, double? SmoothQuant = null,
        bool SpeedAware = false, string? SpeedCache = null, int SpeedBatch = 1, int SpeedThreads = 0);

    /// <summary>The default of <c>--calibration-memory</c>, in MB (2^20 bytes).</summary>
    public const int DefaultCalibrationMemoryMB = (int)(PrepareOptions.DefaultCalibrationMemoryBudgetBytes >> 20);

    /// <summary>Calibration samples per ONNX Runtime run unless <c>--batch-size</c> says otherwise.</summary>
    public const int DefaultBatchSize = 64;

    /// <summary>Accuracy-aware mode: the largest top-1 drop and the labelled evaluation data.</summary>
    private sealed record AccuracyTargetSettings(double MaxDrop, string EvalData, string EvalLabels, IReadOnlySet<string> LayerTypes);

    private static AccuracyTargetSettings? AccuracyTarget(double? maxDrop, string? evalData, string? evalLabels, string? layerTypes)
    {
        if (maxDrop is null && evalData is null && evalLabels is null)
        {
            if (layerTypes is not null)
                throw new CliException("--accuracy-layer-types only applies with --max-accuracy-drop, --eval-data and --eval-labels");
            return null;
        }

        var missing = new[] { ("--max-accuracy-drop", maxDrop is null), ("--eval-data", evalData is null), ("--eval-labels", evalLabels is null) }
            .Where(m => m.Item2).Select(m => m.Item1).ToList();
        if (missing.Count > 0)
            throw new CliException($"accuracy-aware mode needs --max-accuracy-drop, --eval-data and --eval-labels together; missing {string.Join(", ", missing)}");
        if (!double.IsFinite(maxDrop!.Value) || maxDrop < 0 || maxDrop >= 1)
            throw new CliException($"--max-accuracy-drop must be a fraction in [0, 1), e.g. 0.005 for half a point; got {maxDrop}");
        var types = (layerTypes ?? "Conv,Gemm,MatMul").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (types.Count == 0)
            throw new CliException("--accuracy-layer-types needs at least one op type, e.g. Conv,Gemm,MatMul");
        return new AccuracyTargetSettings(maxDrop.Value, evalData!, evalLabels!, types);
    }

    private static int Run(Settings s, AccuracyTargetSettings? target, IQatMode? qatMode, TextWriter stdout)
    {
        if (s.CalibrationSamples <= 0)
            throw new CliException($"--calibration-samples must be positive, got {s.CalibrationSamples}");
        if (s.BatchSize <= 0)
            throw new CliException($"--batch-size must be positive, got {s.BatchSize}");
        if (s.MaxNodes <= 0)
            throw new CliException($"--max-nodes must be positive, got {s.MaxNodes}");
        if (s.CalibrationMemoryMB <= 0)
            throw new CliException($"--calibration-memory must be a positive number of MB, got {s.CalibrationMemoryMB}");
        bool dynamic = s.Mode == "dynamic";
        if (target is not null && s.Mode == "qat")
            throw new CliException("--max-accuracy-drop works with --mode static or dynamic, not qat");
        SqnrRepairSettings.Check(s.MinOutputSqnr, s.Mode, target is not null);
        CheckCombination(s, target is not null);
        SpeedAwareSettings.Check(s);
        if (!dynamic && s.CalibrationData is null)
            throw new CliException($"--mode {s.Mode} needs --calibration-data");
        OutputPath.Check(s.Output, "--output");
        OutputPath.Check(s.Json, "--json");

        var ui = CliConsole.For(stdout);
        var loaded = LoadedModel.Load(s, ui);
        var watch = Stopwatch.StartNew();
        var (result, tuned) = TimeoutOption.Run(s.TimeoutSeconds, token => Quantize(s, target, dynamic, loaded, ui, stdout, qatMode, token));
        result.Save(s.Output);
        watch.Stop();

        var report = result.Report;
        ui.WriteLine($"quantized {s.Model} → {s.Output}");
        if (tuned is not null)
            ui.WriteLine(tuned.ToString().Replace("metric", "top-1", StringComparison.Ordinal));
        if (ui.IsInteractive)
        {
            WriteSummaryTable(ui, report);
            if (report.OrtInt8 is not null)
                ui.WriteLine($"ONNX Runtime int8 kernels: {report.OrtInt8}");
            if (report.OutputSqnrDb is { } checkedDb)
                ui.WriteLine(FormattableString.Invariant($"output SQNR: {checkedDb:F2} dB on {report.CheckedSamples} calibration samples"));
            if (report.Repair is not null)
                ui.WriteLine(report.Repair.ToString());
            if (report.SpeedAware is not null)
                ui.WriteLine(report.SpeedAware.ToString());
            foreach (var warning in report.Warnings)
                ui.WriteLine($"warning: {warning}");
        }
        else
            stdout.WriteLine(report.ToString());
        ui.WriteLine($"total time: {watch.Elapsed.TotalSeconds:F2} s");
        if (s.Json is not null)
            WriteJson(s, report, tuned);
        return 0;
    }

    /// <summary>Prepares, calibrates and converts as the settings say; cancelled through <paramref name="token"/> (<c>--timeout</c>).</summary>
    private static (QuantizedModel Result, AccuracyAwareResult? Tuned) Quantize(Settings s, AccuracyTargetSettings? target, bool dynamic, LoadedModel loaded,
        CliConsole ui, TextWriter stdout, IQatMode? qatMode, CancellationToken token)
    {
        if (target is not null)
        {
            var tuned = RunAccuracyAware(s, target, dynamic, loaded, ui, token);
            return (tuned.Model, tuned);
        }

        if (s.MinOutputSqnr is { } minSqnr)
            return (RunSqnrRepair(s, minSqnr, loaded, ui, token), null);

        if (s.SpeedAware)
            return (RunSpeedAware(s, dynamic, loaded, ui, token), null);

        if (s.Mode == "qat")
            return ((qatMode ?? throw new CliException(QatNeedsQatTool)).Run(loaded.Model, loaded.Quantizer(dynamic), s, stdout), null);

        var prepared = loaded.Prepare(token);
        if (prepared.NeedsSmoothQuant)
        {
            // SmoothQuant's first pass: the per-channel activation maxima of the float graph prepare built, which it then smooths
            using var first = ModelInputs.Stream(prepared.Graph, s.CalibrationData!, s.CalibrationSamples, CalibrationBatchSize(s, prepared, ui), exact: prepared.FixedBatchSize is not null);
            prepared = prepared.SmoothQuant(first, token);
        }

        if (prepared.NeedsCalibration)
        {
            int batch = CalibrationBatchSize(s, prepared, ui);
            using var batches = ModelInputs.Stream(prepared.Graph, s.CalibrationData!, s.CalibrationSamples, batch, exact: prepared.FixedBatchSize is not null);
            long total = batches.TotalSamples;
            ui.WithProgress("calibrating", total, progress =>
            {
                prepared.Calibrate(batches, new CallbackProgress<CalibrationProgress>(p => progress.Report(p.Samples)), total, token);
                return 0;
            });
        }

        return (prepared.Convert(), null);
    }

    /// <summary>The combination rules of <see cref="OptionCombination"/>, worded with the CLI's flags.</summary>
    private static void CheckCombination(Settings s, bool accuracyAware)
    {
        var combination = new OptionCombination(s.Mode == "static", s.SmoothQuant, accuracyAware, s.MinOutputSqnr is not null, s.SpeedAware);
        string? message = combination.Check() switch
        {
            OptionConflict.SmoothQuantAlphaOutOfRange => FormattableString.Invariant($"--smooth-quant must be an alpha in (0, 1], e.g. 0.5; got {s.SmoothQuant}"),
            OptionConflict.SmoothQuantNeedsStatic => $"--smooth-quant works with --mode static (it needs the calibration data's activation maxima), not {s.Mode}",
            OptionConflict.SmoothQuantWithSearch => "--smooth-quant does not combine with --max-accuracy-drop, --min-output-sqnr or --speed-aware",
            OptionConflict.SpeedAwareWithSearch when s.Mode != "qat" => "--speed-aware cannot be combined with --max-accuracy-drop or --min-output-sqnr: give one placement search",
            _ => null,
        };
        if (message is not null)
            throw new CliException(message);
    }

    internal static void WriteSummaryTable(CliConsole ui, QuantizationReport report)
    {
        var rows = report.QuantizedNodesByOpType.OrderBy(k => k.Key, StringComparer.Ordinal)
            .Select(k => (IReadOnlyList<string>)[k.Key, k.Value.ToString(CultureInfo.InvariantCulture), "int8", ""])
            .Concat(report.NodesLeftInFloat.GroupBy(n => (n.OpType, n.Reason)).OrderBy(g => g.Key.OpType, StringComparer.Ordinal)
                .Select(g => (IReadOnlyList<string>)[g.Key.OpType, g.Count().ToString(CultureInfo.InvariantCulture), "float", g.Key.Reason]));
        ui.WriteTable($"{report.Mode} quantization", ["op type", "nodes", "kept as", "why"], rows);
        ui.WriteLine($"size: {report.FloatModelBytes:N0} → {report.QuantizedModelBytes:N0} bytes ({report.CompressionRatio:F2}× smaller)");
    }

    /// <summary>Accuracy-aware mode: layers back to float, most harmful first, until top-1 drops by at most the target.</summary>
    private static AccuracyAwareResult RunAccuracyAware(Settings s, AccuracyTargetSettings target, bool dynamic, LoadedModel loaded, CliConsole ui, CancellationToken token)
    {
        var evaluation = LabelledData.Read(loaded.Graph, target.EvalData, target.EvalLabels, "--eval-data", "--eval-labels");
        IEnumerable<IReadOnlyList<NamedTensor>> calibration = [];
        if (!dynamic)
        {
            // every trial prepares the same float graph, so its batch dimension is known before the first one
            calibration = SearchBatches(s, loaded, ui, token);
        }

        var tuner = new AccuracyAwareQuantizer(() => loaded.Quantizer(dynamic), loaded.Options);
        try
        {
            return tuner.RunStreamed(loaded.Model, calibration, new EvaluationSet(evaluation.Samples, evaluation.Labels), new AccuracyAwareOptions { MaxDrop = target.MaxDrop, LayerOpTypes = target.LayerTypes }, token);
        }
        catch (AccuracyTargetNotMetException e)
        {
            throw new CliException(UnmetTarget(target.MaxDrop, e.BestResult));
        }
    }

    /// <summary><c>--min-output-sqnr</c>: layers back to float, most harmful first, until the check's output SQNR reaches the target.</summary>
    private static QuantizedModel RunSqnrRepair(Settings s, double minSqnr, LoadedModel loaded, CliConsole ui, CancellationToken token)
    {
        var calibration = SearchBatches(s, loaded, ui, token);
        return new OutputSqnrRepair(() => loaded.Quantizer(dynamic: false), loaded.Options)
            .RunStreamed(loaded.Model, calibration, new OutputSqnrRepairOptions { MinOutputSqnrDb = minSqnr }, token);
    }

    /// <summary><c>--speed-aware</c>: profile the units on this CPU and keep float those that do not pay.</summary>
    private static QuantizedModel RunSpeedAware(Settings s, bool dynamic, LoadedModel loaded, CliConsole ui, CancellationToken token)
    {
        var calibration = SearchBatches(s, loaded, ui, token);
        var options = new SpeedAwareOptions
        {
            CachePath = SpeedAwareSettings.CachePath(s), BatchSize = s.SpeedBatch, IntraOpThreads = s.SpeedThreads,
        };
        return new SpeedAwarePlacement(() => loaded.Quantizer(dynamic), loaded.Options).RunStreamed(loaded.Model, calibration, options, token);
    }

    /// <summary>
    /// The calibration batches of a search mode: checked now, then read again from the file, one batch at a time, on
    /// every trial's pass, so memory holds one batch and not the samples.
    /// </summary>
    private static RereadBatches SearchBatches(Settings s, LoadedModel loaded, CliConsole ui, CancellationToken token)
    {
        var floatGraph = QuantizationFlow.PrepareFloatGraph(loaded.Model, loaded.Options, out var outcome, cancellationToken: token);
        return new RereadBatches(floatGraph, s.CalibrationData!, s.CalibrationSamples, CalibrationBatchSize(s, outcome.FixedBatchSize, ui), exact: outcome.FixedBatchSize is not null);
    }

    /// <summary>
    /// <c>--batch-size</c>, or the model's fixed batch size when its batch dimension could not be made symbolic (then
    /// said on the console, since calibrating many samples per run is impossible).
    /// </summary>
    internal static int CalibrationBatchSize(Settings s, PreparedModel prepared, CliConsole ui)
    {
        if (prepared.FixedBatchSize is not null)
            return CalibrationBatchSize(s, prepared.FixedBatchSize, ui);
        int batch = prepared.CalibrationBatchSize(s.BatchSize);
        if (batch < s.BatchSize)
        {
            ui.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"note: calibration runs {batch} sample(s) per run instead of --batch-size {s.BatchSize}: the observed activations take {prepared.CalibrationBytesPerSample / 1048576.0:F1} MB per sample and --calibration-memory is {s.CalibrationMemoryMB} MB"));
        }

        return batch;
    }

    internal static int CalibrationBatchSize(Settings s, int? fixedBatch, CliConsole ui)
    {
        if (fixedBatch is not { } size || size == s.BatchSize)
            return fixedBatch ?? s.BatchSize;
        ui.WriteLine($"note: the model's batch dimension stays fixed at {size}, so calibration runs {size} sample(s) per run instead of --batch-size {s.BatchSize}");
        return size;
    }

    /// <summary>The <c>error:</c> text when the target cannot be met: the best result found, and that nothing was written.</summary>
    private static string UnmetTarget(double maxDrop, AccuracyAwareResult best) => string.Create(CultureInfo.InvariantCulture,
        $"--max-accuracy-drop {maxDrop}: target not met even with every candidate layer back in float; best result: top-1 {best.Metric:F4} vs float {best.FloatMetric:F4} (drop {best.Drop:F4}) with {best.Decisions.Count} of {best.Layers.Count} layers in float{(best.Decisions.Count > 0 ? $" [{string.Join(", ", best.Decisions.Select(d => d.NodeName))}]" : "")}; no model written");

    internal static X86Quantizer BuildQuantizer(Settings s, bool dynamic, OnnxGraph graph)
    {
        bool qat = s.Mode == "qat";
        Func<ObserverOptions, Observer>? factory = s.Observer switch
        {
            "minmax" => o => new MinMaxObserver(o),
            "moving-average" => o => new MovingAverageMinMaxObserver(o),
            "percentile" => o => new PercentileObserver(o),
            "entropy" => o => new EntropyObserver(o),
            _ => null, // histogram: the X86 default (for qat, the X86 QAT default: moving-average min/max)
        };
        var config = X86Quantizer.GetDefaultConfig(isQat: qat, isDynamic: dynamic, reduceRange: s.ReduceRange, activationObserver: dynamic ? null : factory);
        if (!s.PerChannel && config.Weight is { } weight)
        {
            config = config with
            {
                Weight = weight with { QScheme = QScheme.PerTensorSymmetric, ChannelAxis = null, ObserverFactory = o => new MinMaxObserver(o) },
            };
        }

        var quantizer = new X86Quantizer { KeepNarrowConvsInFloat = !s.QuantizeNarrowConvs, QuantizeElementwise = s.QuantizeElementwise }.SetGlobal(config);
        foreach (var item in (s.Exclude ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (graph.Nodes.Any(n => n.Name == item))
            {
                quantizer.SetNodeName(item, null);
            }
            else if (graph.Nodes.Any(n => n.OpType == item))
            {
                try
                {
                    quantizer.SetOperatorType(item, null);
                }
                catch (ArgumentException)
                {
                    // an op type no pattern anchors on is never quantized anyway
                }
            }
            else
            {
                throw new CliException($"--exclude: '{item}' is neither a node name nor an op type in '{s.Model}'");
            }
        }

        return quantizer;
    }

    private static void WriteJson(Settings s, QuantizationReport report, AccuracyAwareResult? tuned)
    {
        var accuracy = tuned is null ? null : new AccuracyAwareSummary(
            tuned.MaxDrop, tuned.FloatMetric, tuned.InitialMetric, tuned.Metric, tuned.Drop, tuned.QuantizedLayerCount, tuned.Layers.Count,
            tuned.Decisions.Select(d => new DecisionSummary(d.Step, d.NodeName, d.OpType, d.Metric, d.Drop)).ToList());
        var summary = new QuantizeSummary(
            s.Model, s.Output, report.Mode, report.QuantizedNodesByOpType.ToDictionary(k => k.Key, k => k.Value),
            report.NodesLeftInFloat.Select(n => new FloatNodeSummary(n.Name, n.OpType, n.Reason)).ToList(),
            report.FloatModelBytes, report.QuantizedModelBytes, Math.Round(report.CompressionRatio, 4),
            Math.Round(report.CalibrationTime.TotalSeconds, 4), report.CalibrationSamples, report.CalibrationBatchSize,
            new BatchDimensionSummary(report.FixedBatchSize, report.BatchDimension), report.Warnings.ToList(),
            report.OutputSqnrDb is { } db && double.IsFinite(db) ? Math.Round(db, 4) : null, report.CheckedSamples,
            report.WorstActivations.Select(a => new ActivationSummary(a.Tensor, a.Producer, double.IsFinite(a.SqnrDb) ? Math.Round(a.SqnrDb, 4) : null)).ToList(), accuracy,
            SqnrRepairSettings.Summary(report.Repair), report.OrtInt8?.Int8Kernels.ToDictionary(k => k.Key, k => k.Value), report.OrtInt8?.UnfusedCompute.ToList(),
            report.BiasCorrectedLayers, report.EqualizedPairs, SpeedAwareSettings.Summary(report.SpeedAware), SpeedAwareSettings.Decisions(report.SpeedAware),
            report.SmoothedLayers);
        CommonOptions.WriteJson(s.Json!, summary, SummaryJson.Default.QuantizeSummary);
    }
}

/// <summary>The <c>--json</c> summary of <c>quantize</c>.</summary>
internal sealed record QuantizeSummary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("output")] string Output,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("quantized_nodes")] Dictionary<string, int> QuantizedNodes,
    [property: JsonPropertyName("float_nodes")] List<FloatNodeSummary> FloatNodes,
    [property: JsonPropertyName("float_bytes")] long FloatBytes,
    [property: JsonPropertyName("int8_bytes")] long Int8Bytes,
    [property: JsonPropertyName("compression_ratio")] double CompressionRatio,
    [property: JsonPropertyName("calibration_seconds")] double CalibrationSeconds,
    [property: JsonPropertyName("calibration_samples")] long CalibrationSamples,
    [property: JsonPropertyName("calibration_batch_size")] int CalibrationBatchSize,
    [property: JsonPropertyName("batch")] BatchDimensionSummary Batch,
    [property: JsonPropertyName("warnings")] List<string> Warnings,
    [property: JsonPropertyName("output_sqnr_db")] double? OutputSqnrDb,
    [property: JsonPropertyName("checked_samples")] long CheckedSamples,
    [property: JsonPropertyName("worst_activations")] List<ActivationSummary> WorstActivations,
    [property: JsonPropertyName("accuracy_aware")] AccuracyAwareSummary? AccuracyAware,
    [property: JsonPropertyName("output_sqnr_repair")] SqnrRepairSummary? OutputSqnrRepair = null,
    [property: JsonPropertyName("ort_int8_kernels")] Dictionary<string, int>? OrtInt8Kernels = null,
    [property: JsonPropertyName("ort_unfused_quantized")] List<string>? OrtUnfusedQuantized = null,
    [property: JsonPropertyName("bias_corrected_layers")] int? BiasCorrectedLayers = null,
    [property: JsonPropertyName("equalized_pairs")] int? EqualizedPairs = null,
    [property: JsonPropertyName("speed_aware")] SpeedAwareSummary? SpeedAware = null,
    [property: JsonPropertyName("speed_decisions")] List<SpeedDecisionSummary>? SpeedDecisions = null,
    [property: JsonPropertyName("smoothed_layers")] int? SmoothedLayers = null);

/// <summary>A quantization point in the JSON summary: the tensor, its producer and its SQNR in dB (null when not finite).</summary>
internal sealed record ActivationSummary(
    [property: JsonPropertyName("tensor")] string Tensor,
    [property: JsonPropertyName("producer")] string Producer,
    [property: JsonPropertyName("sqnr_db")] double? SqnrDb);

/// <summary>The model's batch dimension in the JSON summary: the size it requires (null: any) and what was done about it.</summary>
internal sealed record BatchDimensionSummary(
    [property: JsonPropertyName("fixed_size")] int? FixedSize,
    [property: JsonPropertyName("note")] string Note);

/// <summary>Accuracy-aware mode in the JSON summary: top-1 figures and each layer given back to float.</summary>
internal sealed record AccuracyAwareSummary(
    [property: JsonPropertyName("max_drop")] double MaxDrop,
    [property: JsonPropertyName("float_top1")] double FloatTop1,
    [property: JsonPropertyName("initial_top1")] double InitialTop1,
    [property: JsonPropertyName("final_top1")] double FinalTop1,
    [property: JsonPropertyName("drop")] double Drop,
    [property: JsonPropertyName("layers_quantized")] int LayersQuantized,
    [property: JsonPropertyName("layers_total")] int LayersTotal,
    [property: JsonPropertyName("decisions")] List<DecisionSummary> Decisions);

/// <summary>One layer given back to float, with the top-1 after it.</summary>
internal sealed record DecisionSummary(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("top1")] double Top1,
    [property: JsonPropertyName("drop")] double Drop);

/// <summary>A node left in float, in the JSON summary.</summary>
internal sealed record FloatNodeSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("reason")] string Reason);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(QuantizeSummary))]
internal sealed partial class SummaryJson : JsonSerializerContext;
