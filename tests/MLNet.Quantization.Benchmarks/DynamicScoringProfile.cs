using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// Where the time of dynamic scoring goes: ORT <c>Run</c> alone on the float, exported QDQ and per-row models at batch 1
/// and 32 (one intra-op thread), against ML.NET <c>Transform</c> plus cursor over the same rows.
/// <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- dynamic-profile [--rows 2048] [--threads 1 | --default-threads]
/// [--rounds 6] [--compare other-per-row.onnx]</c>; with <c>DUMP_DIR</c> set, ORT's optimized graphs and profiles go there.
/// </summary>
internal static class DynamicScoringProfile
{
    public static int Run(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        int rows = ReportArgs.ReadInt(args, "--rows", 2048);
        int threads = args.Contains("--default-threads") ? 0 : ReportArgs.ReadInt(args, "--threads", 1);
        var ml = new MLContext(seed: 1);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false, maxCount: rows);
        var data = MLNetScoringBenchmarks.Rows(test);
        var view = ml.Data.LoadFromEnumerable(data);
        string model = MLNetScoringBenchmarks.FindModel("fmnist_rowtf.onnx");
        using var perRow = ml.Transforms.Quantize(new QuantizationOptions { ModelFile = model, Mode = QuantizationMode.Dynamic, DynamicRangeScope = DynamicRangeScope.PerRow, ScoringBatchSize = 32, IntraOpNumThreads = threads }).Fit(view);
        using var perBatch = ml.Transforms.Quantize(new QuantizationOptions { ModelFile = model, Mode = QuantizationMode.Dynamic, DynamicRangeScope = DynamicRangeScope.PerBatch, ScoringBatchSize = 32, IntraOpNumThreads = threads }).Fit(view);
        var floatT = ml.Transforms.ApplyOnnxModel(new Microsoft.ML.Transforms.Onnx.OnnxOptions { ModelFile = model, OutputColumns = ["logits"], InputColumns = ["input"], IntraOpNumThreads = threads }).Fit(view);
        var qdqBytes = new MemoryStream();
        perRow.ExportOnnx(qdqBytes);
        var pixels = data.SelectMany(r => r.input).ToArray();

        using var floatSession = Session(File.ReadAllBytes(model), threads, Environment.GetEnvironmentVariable("DUMP_DIR") is { } d0 ? Path.Combine(d0, "float.opt.onnx") : null);
        using var qdqSession = Session(qdqBytes.ToArray(), threads, Environment.GetEnvironmentVariable("DUMP_DIR") is { } d1 ? Path.Combine(d1, "qdq.opt.onnx") : null);
        using var perRowSession = Session(perRow.ScoringModel, threads, Environment.GetEnvironmentVariable("DUMP_DIR") is { } d2 ? Path.Combine(d2, "perrow.opt.onnx") : null);
        using var perRowNoSpin = Session(perRow.ScoringModel, -Math.Max(threads, 2), null);
        using var qdqNoSpin = Session(qdqBytes.ToArray(), -Math.Max(threads, 2), null);
        int legacyArg = Array.IndexOf(args, "--compare");
        using var legacy = legacyArg >= 0 ? Session(File.ReadAllBytes(args[legacyArg + 1]), threads, null) : perRowSession;
        var sides = new (string Name, Func<double> Time)[]
        {
            ("ORT --compare model b32", () => TimeRuns(legacy, pixels, rows, 32)),
            ("ORT float b1", () => TimeRuns(floatSession, pixels, rows, 1)),
            ("ORT float b32", () => TimeRuns(floatSession, pixels, rows, 32)),
            ("ORT qdq b1", () => TimeRuns(qdqSession, pixels, rows, 1)),
            ("ORT qdq b32", () => TimeRuns(qdqSession, pixels, rows, 32)),
            ("ORT perrow b32", () => TimeRuns(perRowSession, pixels, rows, 32)),
            ("ORT perrow b32, 2 threads no spin", () => TimeRuns(perRowNoSpin, pixels, rows, 32)),
            ("ORT qdq b32, 2 threads no spin", () => TimeRuns(qdqNoSpin, pixels, rows, 32)),
            ("ML.NET source rows only", () => TimeSource(view)),
            ("ML.NET float ApplyOnnxModel", () => TimeDrain(floatT.Transform(view))),
            ("ML.NET PerRow", () => TimeDrain(perRow.Transform(view))),
            ("ML.NET PerBatch", () => TimeDrain(perBatch.Transform(view))),
        };
        var times = sides.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < ReportArgs.ReadInt(args, "--rounds", 6); r++)
        {
            for (int s = 0; s < sides.Length; s++)
            {
                double t = sides[s].Time();
                if (r > 0)
                    times[s].Add(t);
            }
        }

        double baseline = Cli.Benchmarking.SideBySideBenchmark.Median(times[9]);
        for (int s = 0; s < sides.Length; s++)
        {
            double us = Cli.Benchmarking.SideBySideBenchmark.Median(times[s]);
            Console.WriteLine(string.Create(c, $"{sides[s].Name,-30} {us,8:F1} µs/row  {1e6 / us,8:F0} rows/s  {baseline / us,5:F2}× float ML.NET  (range {times[s].Min():F1}–{times[s].Max():F1})"));
        }

        (floatT as IDisposable)?.Dispose();
        if (Environment.GetEnvironmentVariable("DUMP_DIR") is not null)
        {
            floatSession.EndProfiling();
            qdqSession.EndProfiling();
            perRowSession.EndProfiling();
        }

        return 0;
    }

    /// <summary>A session on <paramref name="threads"/> intra-op threads (0: ORT's default); negative: that many, not spinning.</summary>
    private static InferenceSession Session(byte[] model, int threads, string? optimizedPath)
    {
        using var options = Runtime.OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, threads == 0 ? 0 : Math.Abs(threads));
        if (threads < 0)
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (optimizedPath is not null)
        {
            options.OptimizedModelFilePath = optimizedPath;
            options.EnableProfiling = true;
            options.ProfileOutputPathPrefix = optimizedPath + ".profile";
        }
        return new InferenceSession(model, options);
    }

    /// <summary>µs per row of ORT runs alone, <paramref name="batch"/> rows per run, OrtValues made once.</summary>
    internal static double TimeRuns(InferenceSession session, float[] pixels, int rows, int batch)
    {
        var runs = new List<OrtValue>();
        for (int start = 0; start + batch <= rows; start += batch)
            runs.Add(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(start * 784, batch * 784), [batch, 1, 28, 28]));
        string[] inputs = ["input"], outputs = ["logits"];
        using var runOptions = new RunOptions();
        long t0 = Stopwatch.GetTimestamp();
        foreach (var value in runs)
        {
            using var result = session.Run(runOptions, inputs, [value], outputs);
        }

        double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / (runs.Count * batch);
        foreach (var value in runs)
            value.Dispose();
        return us;
    }

    private static double TimeDrain(IDataView view)
    {
        long t0 = Stopwatch.GetTimestamp();
        int n = MLNetScoringBenchmarks.Drain(view);
        return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / n;
    }

    /// <summary>µs per row of reading the source's input column alone, as the batch cursor does.</summary>
    private static double TimeSource(IDataView view)
    {
        long t0 = Stopwatch.GetTimestamp();
        var column = view.Schema["input"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(column);
        Microsoft.ML.Data.VBuffer<float> value = default;
        int n = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            n++;
        }

        return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / n;
    }
}
