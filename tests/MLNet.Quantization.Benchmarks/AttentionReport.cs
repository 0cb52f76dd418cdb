using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Cli.Benchmarking;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// The transformer's int8 variants side by side: for each, full-test-set accuracy, what ORT fuses, the int8/fp32 ratio
/// at batch 1 and 32 (one thread and ORT's default) over rounds, and ORT's per-op-type kernel time at batch 32.
/// <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- attention [--models fmnist_rowtf,fmnist_cnn]
/// [--variants default,matmul,dynamic] [--rounds 5] [--iterations 200] [--profile DIR] [--no-speed] [--against VARIANT | --against-file int8.onnx] [--save DIR]</c>; with <c>--against</c> the
/// variants listed after that one are timed against it instead of fp32, with <c>--against-file</c> all of them against
/// that model; <c>--save</c> writes each variant's int8 model there.
/// </summary>
internal static class AttentionReport
{
    private sealed record Variant(string Name, bool Dynamic, Func<X86Quantizer> Quantizer);

    private static readonly Variant[] Variants =
    [
        new("static", false, () => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig())),
        new("static+matmul", false, () => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()).SetOperatorType("MatMul", X86Quantizer.GetDefaultConfig())),
        new("static+attention", false, () => new X86Quantizer { QuantizeActivationMatMuls = true }.SetGlobal(X86Quantizer.GetDefaultConfig())),
        new("dynamic", true, () => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true))),
    ];

    public static int Run(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        if (args.Length == 2 && args[0] == "--print")
        {
            foreach (var n in OnnxModel.Load(args[1]).Proto.Graph.Node)
                Console.WriteLine($"{n.Domain}:{n.OpType} {n.Name} [{string.Join(" | ", n.Output.Select(o => OnnxGraph.Load(args[1]).GetValueInfo(o)?.ToString() ?? "?"))}]: {string.Join(", ", n.Input)} -> {string.Join(", ", n.Output)} {string.Join(" ", n.Attribute.Where(a => a.T is not null).Select(a => a.T.RawData.Length == 4 ? BitConverter.ToSingle(a.T.RawData.Span).ToString(c) : string.Join(",", a.T.FloatData)))}");
            return 0;
        }

        string[] models = ReadList(args, "--models", "fmnist_rowtf");
        string[] variants = ReadList(args, "--variants", string.Join(',', Variants.Select(v => v.Name)));
        int rounds = ReportArgs.ReadInt(args, "--rounds", 5);
        int iterations = ReportArgs.ReadInt(args, "--iterations", 200);
        int profileIndex = Array.IndexOf(args, "--profile");
        string? profileDir = profileIndex >= 0 ? args[profileIndex + 1] : null;
        bool speed = !args.Contains("--no-speed");
        string? against = ReadList(args, "--against", "").FirstOrDefault();
        string? againstFile = ReadList(args, "--against-file", "").FirstOrDefault();
        string? saveDir = ReadList(args, "--save", "").FirstOrDefault();
        var calibration = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: 512);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false);
        foreach (string name in models)
        {
            var model = OnnxModel.Load(PerformanceReport.FindModel(name + ".onnx"));
            byte[] fp32 = model.ToBytes();
            using (var floatRunner = new ModelRunner(fp32))
                Console.WriteLine(string.Create(c, $"{name} fp32: accuracy {floatRunner.Accuracy(test.Images, test.Labels):P2}"));
            if (profileDir is not null)
                Profile(fp32, Path.Combine(profileDir, name + ".fp32"));
            byte[] baseline = againstFile is null ? fp32 : File.ReadAllBytes(againstFile);
            foreach (var variant in Variants.Where(v => variants.Contains(v.Name)))
            {
                var prepared = QuantizationFlow.Prepare(model, variant.Quantizer());
                if (!variant.Dynamic)
                    prepared.Calibrate(calibration.Batches("input", 64));
                var quantized = prepared.Convert();
                byte[] int8 = quantized.Model.ToBytes();
                if (saveDir is not null)
                {
                    Directory.CreateDirectory(saveDir);
                    File.WriteAllBytes(Path.Combine(saveDir, $"{name}.{variant.Name}.onnx"), int8);
                }

                using (var runner = new ModelRunner(int8))
                    Console.WriteLine(string.Create(c, $"{name} {variant.Name}: accuracy {runner.Accuracy(test.Images, test.Labels):P2}, {int8.Length / 1024.0:F0} kB"));
                Console.WriteLine($"  ORT ALL: {string.Join(", ", FusedGraphInspector.OptimizedOpTypes(int8, GraphOptimizationLevel.ORT_ENABLE_ALL).OrderByDescending(k => k.Value).Select(k => $"{k.Key}×{k.Value}"))}");
                if (profileDir is not null)
                    Profile(int8, Path.Combine(profileDir, $"{name}.{variant.Name}"));
                if (variant.Name == against)
                {
                    baseline = int8;
                    Console.WriteLine($"  (the baseline of the variants after it)");
                    continue;
                }

                if (!speed)
                    continue;
                foreach (int threads in new[] { 1, 0 })
                {
                    var settings = new SessionSettings(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
                    foreach (int batch in new[] { 1, 32 })
                    {
                        var ratios = new List<double>();
                        BenchmarkResult? last = null;
                        for (int r = 0; r < rounds; r++)
                        {
                            last = SideBySideBenchmark.Run(int8, baseline, batch, batch == 1 ? iterations : Math.Max(20, iterations / 4), warmup: batch == 1 ? 20 : 5, settings);
                            ratios.Add(last.SpeedUp!.Value);
                        }

                        Console.WriteLine(string.Create(c,
                            $"  threads {(threads == 0 ? "default" : "1")}, batch {batch}: {SideBySideBenchmark.Median(ratios):F2}× ({ratios.Min():F2}–{ratios.Max():F2}); last round {last!.BaselineMedianMs:F3} → {last.MedianMs:F3} ms"));
                    }
                }
            }
        }

        return 0;
    }

    /// <summary>ORT's profile at batch 32, one thread, 50 runs: kernel µs per run by op type, and the optimized graph.</summary>
    private static void Profile(byte[] model, string prefix)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(prefix)!);
        const int runs = 50;
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, 1);
        options.OptimizedModelFilePath = prefix + ".opt.onnx";
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = prefix + ".profile";
        string path;
        using (var session = new InferenceSession(model, options))
        {
            var input = new float[32 * 784];
            for (int i = 0; i < input.Length; i++)
                input[i] = (i * 7919 % 255) / 255f;
            using var value = OrtValue.CreateTensorValueFromMemory(input, [32, 1, 28, 28]);
            using var runOptions = new RunOptions();
            for (int i = 0; i < runs + 5; i++)
            {
                using var _ = session.Run(runOptions, ["input"], [value], ["logits"]);
            }

            path = session.EndProfiling();
        }

        var byOp = new Dictionary<string, (double Us, int Nodes)>(StringComparer.Ordinal);
        using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
        {
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
                    continue;
                string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                var (us, n) = byOp.GetValueOrDefault(op);
                byOp[op] = (us + e.GetProperty("dur").GetDouble(), n + 1);
            }
        }

        double total = byOp.Values.Sum(v => v.Us);
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"  profile {Path.GetFileName(prefix)} (batch 32, 1 thread, per run; first 5 runs included): kernels {total / (runs + 5):F0} µs"));
        foreach (var (op, (us, n)) in byOp.OrderByDescending(k => k.Value.Us))
            Console.WriteLine(string.Create(c, $"    {op,-28} {us / (runs + 5),8:F1} µs  {100 * us / total,5:F1} %  ×{n / (runs + 5)}"));
    }

    private static string[] ReadList(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return (i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback).Split(',', StringSplitOptions.RemoveEmptyEntries);
    }
}
