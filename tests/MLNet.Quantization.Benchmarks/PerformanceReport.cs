using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using MLNet.Quantization.Cli.Benchmarking;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;
using MLNet.Quantization.TestSupport;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// Regenerates the performance tables of <c>docs/benchmarks.md</c> in one run: every figure is a ratio of two
/// measurements taken side by side, alternating, so machine load hits both alike.
/// <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- report [--doc docs/benchmarks.md] [--out FILE]</c>:
/// <c>--doc</c> rewrites the document's <c>bench/run</c> section for the thread count measured (<c>threads=default</c>
/// or <c>threads=N</c>), <c>--out</c> writes the tables alone.
/// </summary>
internal static class PerformanceReport
{
    private sealed record Case(string Model, bool Dynamic)
    {
        public string Label => $"{Model} {(Dynamic ? "dynamic" : "static")}";
    }

    public static int Run(string[] args)
    {
        int outIndex = Array.IndexOf(args, "--out");
        string? outPath = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : null;
        int docIndex = Array.IndexOf(args, "--doc");
        string? docPath = docIndex >= 0 && docIndex + 1 < args.Length ? args[docIndex + 1] : null;
        int iterations = ReportArgs.ReadInt(args, "--iterations", 200);
        int reps = ReportArgs.ReadInt(args, "--reps", 5);
        int rounds = ReportArgs.ReadInt(args, "--rounds", 5);
        int threads = ReportArgs.ReadInt(args, "--threads", 0);
        bool spinning = !args.Contains("--no-spinning");
        string sectionKey = threads == 0 ? "threads=default" : string.Create(CultureInfo.InvariantCulture, $"threads={threads}");
        if (docPath is not null)
            MarkedSection.Read(File.ReadAllText(docPath), DocTool, sectionKey);   // fail before an hour of measuring, not after
        var settings = new SessionSettings(Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL, threads, spinning);

        var calibration = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: 512);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false);
        var cases = new[] { new Case("fmnist_cnn", false), new Case("fmnist_mobile", false), new Case("fmnist_rowtf", false), new Case("fmnist_rowtf", true) };
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(string.Create(c, $"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores ({RuntimeInformationText()}), ORT_ENABLE_ALL, intra-op threads {(threads == 0 ? "ORT default" : threads.ToString(c))}{(spinning ? "" : ", spinning off")}. Each ratio is measured side by side with the two sides alternating (medians of the timings); the table gives the median ratio of {rounds} such rounds and, in brackets, the lowest and highest."));
        md.AppendLine();
        md.AppendLine("| model | mode | int8 vs fp32, batch 1 | int8 vs fp32, batch 32 | calibration (histogram) / fp32 inference, 512 samples | size fp32 → int8 |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | --- |");
        foreach (var item in cases)
        {
            Console.Error.WriteLine($"{item.Label}: quantizing");
            var model = OnnxModel.Load(FindModel(item.Model + ".onnx"));
            var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: item.Dynamic));
            var quantized = Quantize(model, quantizer, calibration, item.Dynamic);
            byte[] fp32 = model.ToBytes();
            byte[] int8 = quantized.Model.ToBytes();
            var b1 = new List<BenchmarkResult>();
            var b32 = new List<BenchmarkResult>();
            var calibrationRatios = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                Console.Error.WriteLine($"{item.Label}: round {round + 1}/{rounds}: timing batch 1 and 32{(item.Dynamic ? "" : " and calibration")}");
                b1.Add(SideBySideBenchmark.Run(int8, fp32, 1, iterations, warmup: 20, settings));
                b32.Add(SideBySideBenchmark.Run(int8, fp32, 32, Math.Max(20, iterations / 4), warmup: 5, settings));
                if (!item.Dynamic)
                    calibrationRatios.Add(CalibrationRatio(model, quantizer, calibration, reps));
            }

            string calibrationRatio = item.Dynamic ? "—" : Spread(calibrationRatios);
            md.AppendLine(string.Create(c,
                $"| {item.Model} | {(item.Dynamic ? "dynamic" : "static")} | {SpeedUps(b1, "F3")} | {SpeedUps(b32, "F2")} | {calibrationRatio} | {quantized.Report.FloatModelBytes / 1024.0:F0} kB → {quantized.Report.QuantizedModelBytes / 1024.0:F0} kB ({quantized.Report.CompressionRatio:F2}×) |"));
        }

        Console.Error.WriteLine("ML.NET scoring: fmnist_cnn, 10,000 rows");
        md.AppendLine();
        md.AppendLine("| ML.NET `Transform` + cursor, fmnist_cnn, 10,000 rows | `ApplyOnnxModel` float | `QuantizedModelTransformer` | ratio |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var (label, floatThreads, quantizedThreads) in new (string, int?, int?)[] { ("each with its defaults (ORT's default threads)", null, null), ("both with 1 intra-op thread", 1, 1) })
        {
            var runs = MLNetScoring(FindModel("fmnist_cnn.onnx"), calibration, test, rounds, reps, floatThreads, quantizedThreads);
            double floatMs = SideBySideBenchmark.Median(runs.Select(r => r.FloatMs).ToList());
            double quantizedMs = SideBySideBenchmark.Median(runs.Select(r => r.QuantizedMs).ToList());
            md.AppendLine(string.Create(c, $"| {label} | {floatMs:F0} ms ({10000 * 1000 / floatMs:F0} rows/s) | {quantizedMs:F0} ms ({10000 * 1000 / quantizedMs:F0} rows/s) | {Spread(runs.Select(r => r.FloatMs / r.QuantizedMs).ToList())} |"));
        }

        Console.Error.WriteLine("ML.NET dynamic scoring: fmnist_rowtf, 10,000 rows");
        DynamicScoringReport.Append(md, rounds, reps);

        string text = md.ToString();
        Console.WriteLine(text);
        if (outPath is not null)
            File.WriteAllText(outPath, text);
        if (docPath is not null)
            File.WriteAllText(docPath, MarkedSection.Replace(File.ReadAllText(docPath), DocTool, sectionKey, text));
        return 0;
    }

    /// <summary>"median× (low–high)" of per-round ratios.</summary>
    private static string Spread(List<double> ratios)
    {
        var c = CultureInfo.InvariantCulture;
        return ratios.Count == 1
            ? string.Create(c, $"{ratios[0]:F2}×")
            : string.Create(c, $"{SideBySideBenchmark.Median(ratios):F2}× ({ratios.Min():F2}–{ratios.Max():F2})");
    }

    /// <summary>The speed-up spread of the rounds, then the median times of the round with the median speed-up.</summary>
    private static string SpeedUps(List<BenchmarkResult> rounds, string timeFormat)
    {
        var ordered = rounds.OrderBy(r => r.SpeedUp!.Value).ToList();
        var middle = ordered[ordered.Count / 2];
        string baseline = middle.BaselineMedianMs!.Value.ToString(timeFormat, CultureInfo.InvariantCulture);
        string int8 = middle.MedianMs.ToString(timeFormat, CultureInfo.InvariantCulture);
        return $"{Spread(rounds.Select(r => r.SpeedUp!.Value).ToList())}, {baseline} → {int8} ms";
    }

    private static QuantizedModel Quantize(OnnxModel model, X86Quantizer quantizer, FashionMnist calibration, bool dynamic)
    {
        var prepared = QuantizationFlow.Prepare(model, quantizer);
        if (!dynamic)
            prepared.Calibrate(calibration.Batches("input", 64));
        return prepared.Convert();
    }

    /// <summary>Calibration time over the samples divided by fp32 inference time over the same samples, alternating.</summary>
    private static double CalibrationRatio(OnnxModel model, X86Quantizer quantizer, FashionMnist calibration, int reps)
    {
        using var runner = new ModelRunner(model);
        PreparedModel prepared = null!;
        var (calibrate, infer) = AlternatingMedians(reps,
            () => prepared.Calibrate(calibration.Batches("input", 64)),
            () => runner.Run(calibration.Images, calibration.Count, 64),
            beforeEach: () => prepared = QuantizationFlow.Prepare(model, quantizer)); // not timed: graph passes, not per-sample work
        return calibrate / infer;
    }

    /// <summary>
    /// Times <paramref name="a"/> and <paramref name="b"/> one after the other, <paramref name="reps"/> + 1 times (the
    /// first round warms up and is dropped), and returns the median of each; <paramref name="beforeEach"/> runs untimed.
    /// </summary>
    private static (double A, double B) AlternatingMedians(int reps, Action a, Action b, Action? beforeEach = null)
    {
        var ta = new List<double>();
        var tb = new List<double>();
        for (int r = 0; r < reps + 1; r++)
        {
            beforeEach?.Invoke();
            long t0 = Stopwatch.GetTimestamp();
            a();
            double da = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            t0 = Stopwatch.GetTimestamp();
            b();
            double db = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (r > 0)
            {
                ta.Add(da);
                tb.Add(db);
            }
        }

        return (SideBySideBenchmark.Median(ta), SideBySideBenchmark.Median(tb));
    }

    /// <summary>Builds both ML.NET models once, then times <paramref name="rounds"/> rounds of alternating medians.</summary>
    private static List<(double FloatMs, double QuantizedMs)> MLNetScoring(string modelPath, FashionMnist calibration, FashionMnist test, int rounds, int reps, int? floatThreads, int? quantizedThreads)
    {
        var ml = new MLContext(seed: 1);
        var testView = ml.Data.LoadFromEnumerable(MLNetScoringBenchmarks.Rows(test));
        var calibrationView = ml.Data.LoadFromEnumerable(MLNetScoringBenchmarks.Rows(calibration));
        var onnxOptions = new Microsoft.ML.Transforms.Onnx.OnnxOptions { ModelFile = modelPath, OutputColumns = ["logits"], InputColumns = ["input"] };
        if (floatThreads is { } ft)
            onnxOptions.IntraOpNumThreads = ft;
        var quantizeOptions = new QuantizationOptions { ModelFile = modelPath };
        if (quantizedThreads is { } qt)
            quantizeOptions.IntraOpNumThreads = qt;
        var floatModel = ml.Transforms.ApplyOnnxModel(onnxOptions).Fit(testView);
        using var quantized = ml.Transforms.Quantize(quantizeOptions).Fit(calibrationView);
        var medians = Enumerable.Range(0, rounds).Select(_ => AlternatingMedians(reps,
            () => MLNetScoringBenchmarks.Drain(floatModel.Transform(testView)),
            () => MLNetScoringBenchmarks.Drain(quantized.Transform(testView)))).ToList();
        (floatModel as IDisposable)?.Dispose();
        return medians;
    }

    /// <summary>The tool name in the markers of the sections this report rewrites.</summary>
    private const string DocTool = "bench/run";

    /// <summary>OS, architecture, and on Linux the CPU's model name and whether it has VNNI (int8 dot products).</summary>
    private static string RuntimeInformationText()
    {
        string text = $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}";
        if (!File.Exists("/proc/cpuinfo"))
            return text;
        string cpuinfo = File.ReadAllText("/proc/cpuinfo");
        string? model = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        return $"{text}; {model ?? "unknown CPU"}, {(cpuinfo.Contains("vnni", StringComparison.Ordinal) ? "VNNI" : "no VNNI")}";
    }


    internal static string FindModel(string name) => MLNetScoringBenchmarks.FindModel(name);
}
