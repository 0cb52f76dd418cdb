using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizer;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>quantize --model IN.onnx --output OUT.onnx [options]</c>, as shared/CLI.md specifies.</summary>
internal static class QuantizeCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The float ONNX model.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the QDQ model.", Required = true };
        var mode = new Option<string>("--mode") { Description = "static, dynamic or qat.", DefaultValueFactory = _ => "static" };
        mode.AcceptOnlyFromAmong("static", "dynamic", "qat");
        var calibrationData = new Option<string?>("--calibration-data") { Description = "Calibration samples (.npy, .npz or .csv); required for static and qat." };
        var calibrationSamples = new Option<int>("--calibration-samples") { Description = "Use the first N samples.", DefaultValueFactory = _ => 512 };
        var observer = new Option<string>("--activation-observer") { Description = "histogram, minmax, moving-average, percentile or entropy.", DefaultValueFactory = _ => "histogram" };
        observer.AcceptOnlyFromAmong("histogram", "minmax", "moving-average", "percentile", "entropy");
        var perChannel = new Option<string>("--per-channel") { Description = "Per-channel weights: true or false.", DefaultValueFactory = _ => "true" };
        perChannel.AcceptOnlyFromAmong("true", "false");
        var reduceRange = new Option<bool>("--reduce-range") { Description = "7-bit activations for CPUs without VNNI." };
        var exclude = new Option<string?>("--exclude") { Description = "Node names or op types to leave in float, comma-separated." };
        var json = new Option<string?>("--json") { Description = "Also write the summary as JSON." };
        var trainData = new Option<string?>("--train-data") { Description = "QAT training samples." };
        var trainLabels = new Option<string?>("--train-labels") { Description = "QAT training labels (.npy int64/int32)." };
        var epochs = new Option<int?>("--epochs") { Description = "QAT epochs." };
        var learningRate = new Option<double?>("--learning-rate") { Description = "QAT learning rate." };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Accuracy-aware mode: the largest top-1 drop allowed." };
        var evalData = new Option<string?>("--eval-data") { Description = "Accuracy-aware mode: evaluation samples." };
        var evalLabels = new Option<string?>("--eval-labels") { Description = "Accuracy-aware mode: evaluation labels." };

        var command = new Command("quantize", "Quantize a float ONNX model to QDQ int8 for ONNX Runtime.")
        {
            model, output, mode, calibrationData, calibrationSamples, observer, perChannel, reduceRange, exclude, json,
            trainData, trainLabels, epochs, learningRate, maxDrop, evalData, evalLabels,
        };
        command.SetAction(parse =>
        {
            var options = new Settings(
                parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(mode)!, parse.GetValue(calibrationData), parse.GetValue(calibrationSamples),
                parse.GetValue(observer)!, parse.GetValue(perChannel) == "true", parse.GetValue(reduceRange), parse.GetValue(exclude), parse.GetValue(json),
                parse.GetValue(trainData), parse.GetValue(trainLabels), parse.GetValue(epochs), parse.GetValue(learningRate));
            if (options.Mode == "qat")
            {
                var missing = new[] { ("--train-data", options.TrainData is null), ("--train-labels", options.TrainLabels is null), ("--epochs", options.Epochs is null), ("--learning-rate", options.LearningRate is null) }
                    .Where(m => m.Item2).Select(m => m.Item1).ToList();
                if (missing.Count > 0)
                    throw new CliException($"--mode qat needs {string.Join(", ", missing)}");
                if (options.Epochs < 1)
                    throw new CliException($"--epochs must be at least 1, got {options.Epochs}");
                if (options.LearningRate is not > 0 || !double.IsFinite(options.LearningRate.Value))
                    throw new CliException($"--learning-rate must be a positive number, got {options.LearningRate}");
            }

            if (parse.GetValue(maxDrop) is not null || parse.GetValue(evalData) is not null || parse.GetValue(evalLabels) is not null)
                throw new CliException("--max-accuracy-drop (accuracy-aware mode) is not available in this build yet");
            return Run(options, stdout);
        });
        return command;
    }

    /// <summary>The parsed options; the last four are used by <c>--mode qat</c>.</summary>
    internal sealed record Settings(
        string Model, string Output, string Mode, string? CalibrationData, int CalibrationSamples, string Observer, bool PerChannel, bool ReduceRange, string? Exclude, string? Json,
        string? TrainData = null, string? TrainLabels = null, int? Epochs = null, double? LearningRate = null);

    private static int Run(Settings s, TextWriter stdout)
    {
        if (s.CalibrationSamples <= 0)
            throw new CliException($"--calibration-samples must be positive, got {s.CalibrationSamples}");
        bool dynamic = s.Mode == "dynamic";
        if (!dynamic && s.CalibrationData is null)
            throw new CliException($"--mode {s.Mode} needs --calibration-data");
        string outputDir = Path.GetDirectoryName(Path.GetFullPath(s.Output))!;
        if (!Directory.Exists(outputDir))
            throw new CliException($"--output: folder '{outputDir}' does not exist");
        if (!File.Exists(s.Model))
            throw new CliException($"--model: '{s.Model}' does not exist");

        var model = OnnxModel.Load(s.Model);
        var graph = OnnxGraph.FromModel(model);
        var quantizer = BuildQuantizer(s, dynamic, graph);
        var watch = Stopwatch.StartNew();
        var result = s.Mode == "qat" ? QatQuantize.Run(model, quantizer, s, stdout) : PostTraining(model, quantizer, s);
        result.Save(s.Output);
        watch.Stop();

        var report = result.Report;
        stdout.WriteLine($"quantized {s.Model} → {s.Output}");
        stdout.WriteLine(report.ToString());
        stdout.WriteLine($"total time: {watch.Elapsed.TotalSeconds:F2} s");
        if (s.Json is not null)
            WriteJson(s, report);
        return 0;
    }

    private static QuantizedModel PostTraining(OnnxModel model, X86Quantizer quantizer, Settings s)
    {
        var prepared = QuantizationFlow.Prepare(model, quantizer);
        if (prepared.NeedsCalibration)
            prepared.Calibrate(ModelInputs.Batches(prepared.Graph, s.CalibrationData!, s.CalibrationSamples));
        return prepared.Convert();
    }

    private static X86Quantizer BuildQuantizer(Settings s, bool dynamic, OnnxGraph graph)
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

        var quantizer = new X86Quantizer().SetGlobal(config);
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

    private static void WriteJson(Settings s, QuantizationReport report)
    {
        var summary = new QuantizeSummary(
            s.Model, s.Output, report.Mode, report.QuantizedNodesByOpType.ToDictionary(k => k.Key, k => k.Value),
            report.NodesLeftInFloat.Select(n => new FloatNodeSummary(n.Name, n.OpType, n.Reason)).ToList(),
            report.FloatModelBytes, report.QuantizedModelBytes, Math.Round(report.CompressionRatio, 4),
            Math.Round(report.CalibrationTime.TotalSeconds, 4), report.CalibrationSamples);
        AtomicFile.WriteAllText(s.Json!, JsonSerializer.Serialize(summary, SummaryJson.Default.QuantizeSummary));
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
    [property: JsonPropertyName("calibration_samples")] long CalibrationSamples);

/// <summary>A node left in float, in the JSON summary.</summary>
internal sealed record FloatNodeSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("reason")] string Reason);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(QuantizeSummary))]
internal sealed partial class SummaryJson : JsonSerializerContext;
