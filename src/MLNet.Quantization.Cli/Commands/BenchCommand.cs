using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Cli.Benchmarking;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Shapes;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>bench --model M.onnx [--baseline F.onnx] [--batch 1,32] [--json FILE]</c>: latency and throughput, the baseline
/// measured in the same run with the two models alternating (ABBA), and the ratios of the medians.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The most timed runs per model and batch size (so progress counts cannot overflow).</summary>
    public const int MaxIterations = 1_000_000;

    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The model to time.", Required = true };
        var baseline = new Option<string?>("--baseline") { Description = "A baseline model timed alternately in the same run." };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated.", DefaultValueFactory = _ => "1,32" };
        var iterations = new Option<int>("--iterations") { Description = "Timed runs per model and batch size.", DefaultValueFactory = _ => 50 };
        var optimization = new Option<string>("--optimization") { Description = "ORT graph optimization level for both models: none, basic, extended or all.", DefaultValueFactory = _ => "all" };
        optimization.AcceptOnlyFromAmong("none", "basic", "extended", "all");
        var threads = new Option<int>("--threads") { Description = "ORT intra-op threads (0: ORT's default, one per core).", DefaultValueFactory = _ => 0 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON." };
        var inputShapes = InputShapeOption.Create();
        var command = new Command("bench", "Latency and throughput, with an optional baseline measured side by side.") { model, baseline, batches, iterations, optimization, threads, inputShapes, json };
        command.SetAction(parse =>
        {
            OutputPath.Check(parse.GetValue(json), "--json");
            var sizes = parse.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out int b) && b > 0 ? b : throw new CliException($"--batch: '{s}' is not a positive whole number")).ToArray();
            if (sizes.Length == 0)
                throw new CliException("--batch: give at least one batch size");
            int n = parse.GetValue(iterations);
            if (n is < 5 or > MaxIterations)
                throw new CliException($"--iterations must be from 5 to {MaxIterations}");
            int threadCount = parse.GetValue(threads);
            if (threadCount < 0)
                throw new CliException("--threads must be 0 or more");
            string modelPath = parse.GetValue(model)!;
            string? baselinePath = parse.GetValue(baseline);
            var shapes = InputShapeOption.Parse(parse.GetValue(inputShapes));
            var ui = CliConsole.For(stdout);
            byte[] target = BenchModel(CommonOptions.LoadModel(modelPath), "--model", shapes, sizes, ui);
            byte[]? reference = baselinePath is null ? null : BenchModel(CommonOptions.LoadModel(baselinePath, "--baseline"), "--baseline", shapes, sizes, ui);
            var settings = new SessionSettings(SessionSettings.ParseLevel(parse.GetValue(optimization)!), threadCount);

            const int warmup = 5;
            var results = ui.WithProgress("benchmarking", sizes.Length * (n + warmup), progress =>
            {
                var list = new List<BenchmarkResult>();
                foreach (int size in sizes)
                {
                    int offset = list.Count * (n + warmup);
                    list.Add(SideBySideBenchmark.Run(target, reference, size, n, warmup, settings, new CallbackProgress<int>(i => progress.Report(offset + i))));
                }

                return list;
            });

            if (ui.IsInteractive)
                ui.WriteTable("latency (median)", ["batch", "ms", "samples/s", "baseline ms", "baseline samples/s", "speed-up"], results.Select(Row));
            else
                foreach (var r in results)
                    stdout.WriteLine(Line(r));
            if (parse.GetValue(json) is { } jsonPath)
            {
                var summary = new BenchSummary(modelPath, baselinePath, parse.GetValue(optimization)!, threadCount, n,
                    results.Select(r => new BenchEntry(r.BatchSize, Round(r.MedianMs), Round(r.Throughput), Round(r.BaselineMedianMs), Round(r.BaselineThroughput), Round(r.SpeedUp))).ToList());
                CommonOptions.WriteJson(jsonPath, summary, BenchJson.Default.BenchSummary);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The model's bytes to time, with <c>--input-shape</c> applied. A model with a fixed batch dimension timed at other
    /// batch sizes is made batchable by the same pass as <c>quantize</c> (checked in ONNX Runtime), or refused: timing
    /// one sample and calling it a batch would be a lie.
    /// </summary>
    private static byte[] BenchModel(OnnxModel model, string option, IReadOnlyDictionary<string, int[]>? shapes, int[] sizes, CliConsole ui)
    {
        var graph = OnnxGraph.FromModel(model);
        InputShapeOption.Apply(graph, shapes);
        BenchInputBound.Check(graph, option, sizes);
        var fixedSizes = graph.Inputs.Select(i => i.Shape is { Count: > 0 } s ? s[0].Value : null).Where(v => v is not null).Distinct().ToList();
        if (fixedSizes.Count == 0 || sizes.All(b => fixedSizes.Count == 1 && b == fixedSizes[0]))
            return shapes is null ? model.ToBytes() : graph.ToModel().ToBytes();
        var (relaxed, outcome) = FixedBatchRelaxation.Run(graph);
        if (outcome.FixedBatchSize is { } size)
            throw new CliException($"--batch {string.Join(",", sizes)}: {option} '{model.DisplayName}' takes only batch {size}: {outcome.Note}; use --batch {size}");
        ui.WriteLine($"note: {option}: {outcome.Note}");
        return relaxed.ToModel().ToBytes();
    }

    private static string Line(BenchmarkResult r)
    {
        var c = CultureInfo.InvariantCulture;
        string line = string.Create(c, $"batch {r.BatchSize}: {r.MedianMs:F3} ms median, {r.Throughput:F0} samples/s");
        if (r.BaselineMedianMs is { } b)
            line += string.Create(c, $"; baseline {b:F3} ms, {r.BaselineThroughput:F0} samples/s; speed-up {r.SpeedUp:F2}×");
        return line;
    }

    private static IReadOnlyList<string> Row(BenchmarkResult r)
    {
        var c = CultureInfo.InvariantCulture;
        return
        [
            r.BatchSize.ToString(c), r.MedianMs.ToString("F3", c), r.Throughput.ToString("F0", c),
            r.BaselineMedianMs?.ToString("F3", c) ?? "", r.BaselineThroughput?.ToString("F0", c) ?? "",
            r.SpeedUp is { } s ? s.ToString("F2", c) + "×" : "",
        ];
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 4) : null;

    private static double Round(double value) => Math.Round(value, 4);
}

/// <summary>The <c>--json</c> output of <c>bench</c>.</summary>
internal sealed record BenchSummary(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("baseline")] string? Baseline,
    [property: JsonPropertyName("optimization")] string Optimization,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("iterations")] int Iterations,
    [property: JsonPropertyName("results")] List<BenchEntry> Results);

/// <summary>One batch size in the <c>bench</c> JSON.</summary>
internal sealed record BenchEntry(
    [property: JsonPropertyName("batch")] int Batch,
    [property: JsonPropertyName("median_ms")] double MedianMs,
    [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond,
    [property: JsonPropertyName("baseline_median_ms")] double? BaselineMedianMs,
    [property: JsonPropertyName("baseline_samples_per_second")] double? BaselineSamplesPerSecond,
    [property: JsonPropertyName("speed_up")] double? SpeedUp);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BenchSummary))]
internal sealed partial class BenchJson : JsonSerializerContext;
