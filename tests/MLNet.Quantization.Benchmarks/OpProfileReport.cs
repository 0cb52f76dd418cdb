using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// Where the time goes, by ONNX Runtime op type: each model runs with ORT's profiler on, and the kernel times of its
/// optimized graph are summed per op type and averaged over the timed runs (the warm-up runs are dropped by their
/// timestamps). <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- op-profile --model A.onnx
/// [--model B.onnx ...] --shape 1x3x48x192 [--threads 1] [--runs 20] [--warmup 3]</c>; prints one markdown table,
/// a column per model (µs per run and share of the model's kernel time).
/// </summary>
internal static class OpProfileReport
{
    public static int Run(string[] args)
    {
        var models = new List<string>();
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--model")
                models.Add(args[i + 1]);
        }

        int shapeArg = Array.IndexOf(args, "--shape");
        if (models.Count == 0 || shapeArg < 0 || shapeArg + 1 >= args.Length)
        {
            Console.Error.WriteLine("error: usage: op-profile --model A.onnx [--model B.onnx ...] --shape 1x3x48x192 [--threads 1] [--runs 20] [--warmup 3]");
            return 1;
        }

        long[] shape = args[shapeArg + 1].Split('x').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int threads = ReportArgs.ReadInt(args, "--threads", 1);
        int runs = ReportArgs.ReadInt(args, "--runs", 20);
        int warmup = ReportArgs.ReadInt(args, "--warmup", 3);
        var profiles = models.Select(m => Profile(m, shape, threads, warmup, runs)).ToList();
        Print(models, profiles);
        return 0;
    }

    /// <summary>µs per run of each op type's kernels, and the wall time of a run (µs, median).</summary>
    private static (Dictionary<string, double> PerOp, double RunUs) Profile(string model, long[] shape, int threads, int warmup, int runs)
    {
        string prefix = Path.Combine(Path.GetTempPath(), "op-profile-" + Path.GetFileNameWithoutExtension(model));
        using var options = Runtime.OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        options.ProfileOutputPathPrefix = prefix;
        options.EnableProfiling = true;
        using var session = new InferenceSession(model, options);
        var rng = new Random(0);
        var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++)
            data[i] = (float)(rng.NextDouble() * 2 - 1);
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
        string[] inputs = [session.InputMetadata.Keys.First()];
        string[] outputs = session.OutputMetadata.Keys.ToArray();
        using var runOptions = new RunOptions();
        for (int r = 0; r < warmup + runs; r++)
        {
            using var result = session.Run(runOptions, inputs, [input], outputs);
        }

        string file = session.EndProfiling();
        try
        {
            return Summarize(File.ReadAllText(file), warmup, runs);
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("KEEP_PROFILE") is null)
                File.Delete(file);
            else
                Console.Error.WriteLine($"profile: {file}");
        }
    }

    private static (Dictionary<string, double> PerOp, double RunUs) Summarize(string json, int warmup, int runs)
    {
        using var doc = JsonDocument.Parse(json);
        var events = doc.RootElement.EnumerateArray().ToList();
        var modelRuns = events.Where(e => e.GetProperty("name").GetString() == "model_run")
            .Select(e => (Ts: e.GetProperty("ts").GetInt64(), Dur: e.GetProperty("dur").GetInt64())).OrderBy(e => e.Ts).ToList();
        long start = modelRuns[warmup].Ts;
        var perOp = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("ts").GetInt64() < start
                || e.GetProperty("name").GetString() is not { } name || !name.EndsWith("_kernel_time", StringComparison.Ordinal))
                continue;
            string op = e.GetProperty("args").GetProperty("op_name").GetString() ?? "?";
            perOp[op] = perOp.GetValueOrDefault(op) + e.GetProperty("dur").GetInt64() / (double)runs;
        }

        var timed = modelRuns.Skip(warmup).Select(r => (double)r.Dur).ToList();
        return (perOp, Cli.Benchmarking.SideBySideBenchmark.Median(timed));
    }

    private static void Print(List<string> models, List<(Dictionary<string, double> PerOp, double RunUs)> profiles)
    {
        var c = CultureInfo.InvariantCulture;
        var ops = profiles.SelectMany(p => p.PerOp).GroupBy(kv => kv.Key).OrderByDescending(g => g.Max(kv => kv.Value)).Select(g => g.Key).ToList();
        Console.WriteLine("| op type | " + string.Join(" | ", models.Select(Path.GetFileName)) + " |");
        Console.WriteLine("| --- |" + string.Concat(models.Select(_ => " ---: |")));
        foreach (string op in ops)
        {
            var cells = profiles.Select(p =>
            {
                double total = p.PerOp.Values.Sum();
                return p.PerOp.TryGetValue(op, out double us) ? string.Create(c, $"{us:F0} µs ({100 * us / total:F0} %)") : "—";
            });
            Console.WriteLine($"| {op} | {string.Join(" | ", cells)} |");
        }

        Console.WriteLine("| **kernels, all** | " + string.Join(" | ", profiles.Select(p => string.Create(c, $"**{p.PerOp.Values.Sum():F0} µs**"))) + " |");
        Console.WriteLine("| run (wall, median) | " + string.Join(" | ", profiles.Select(p => string.Create(c, $"{p.RunUs:F0} µs"))) + " |");
    }
}
