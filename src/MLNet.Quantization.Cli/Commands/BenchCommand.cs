using System.CommandLine;
using System.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>bench --model M.onnx [--baseline F.onnx] [--batch 1,32]</c>: latency and throughput, the baseline measured in the
/// same run with the two models alternating, and the ratios of the medians.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The model to time.", Required = true };
        var baseline = new Option<string?>("--baseline") { Description = "A baseline model timed alternately in the same run." };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated.", DefaultValueFactory = _ => "1,32" };
        var iterations = new Option<int>("--iterations") { Description = "Timed runs per model and batch size.", DefaultValueFactory = _ => 50 };
        var command = new Command("bench", "Latency and throughput, with an optional baseline measured side by side.") { model, baseline, batches, iterations };
        command.SetAction(parse =>
        {
            var sizes = parse.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out int b) && b > 0 ? b : throw new CliException($"--batch: '{s}' is not a positive whole number")).ToArray();
            int n = parse.GetValue(iterations);
            if (n < 5)
                throw new CliException("--iterations must be at least 5");
            var target = CommonOptions.LoadModel(parse.GetValue(model)!);
            var reference = parse.GetValue(baseline) is { } b ? CommonOptions.LoadModel(b, "--baseline") : null;
            var input = OnnxGraph.FromModel(target).Inputs.FirstOrDefault() ?? throw new CliException("the model has no inputs");
            using var runner = new ModelRunner(target);
            using var baseRunner = reference is null ? null : new ModelRunner(reference);
            var rng = new Random(0);
            foreach (int size in sizes)
            {
                var data = new float[size * runner.SampleSize];
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)(rng.NextDouble() * 2 - 1);
                var t = new List<double>();
                var tb = new List<double>();
                for (int i = 0; i < n + 5; i++)
                {
                    double a = Time(() => runner.Run(data, size, size));
                    double c = baseRunner is null ? 0 : Time(() => baseRunner.Run(data, size, size));
                    if (i >= 5)
                    {
                        t.Add(a);
                        tb.Add(c);
                    }
                }

                double median = Median(t);
                string line = $"batch {size}: {median:F3} ms median, {size * 1000 / median:F0} samples/s";
                if (baseRunner is not null)
                {
                    double baseMedian = Median(tb);
                    line += $"; baseline {baseMedian:F3} ms, {size * 1000 / baseMedian:F0} samples/s; speed-up {baseMedian / median:F2}×";
                }

                stdout.WriteLine(line);
            }

            return 0;
        });
        return command;
    }

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
