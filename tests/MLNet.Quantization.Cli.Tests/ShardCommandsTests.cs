using System.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// Calibration in shards: three <c>calibrate</c> processes, <c>merge</c>, <c>convert</c>, against one-pass
/// <c>quantize</c> on all the data.
/// </summary>
[TestClass]
public sealed class ShardCommandsTests
{
    /// <summary>The histogram merge tolerance of docs/scale-out.md: every scale within this relative difference of one pass.</summary>
    private const double HistogramScaleTolerance = 0.002;

    private static string _dir = "";
    private static string _all = "";
    private static readonly string[] Shards = new string[3];

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-shards-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var data = FashionMnist.Load(train: true, maxCount: 384);
        _all = Path.Combine(_dir, "all.npy");
        QuantizeCommandTests.WriteNpy(_all, data.Images, [data.Count, 1, 28, 28]);
        int per = data.Count / Shards.Length;
        for (int i = 0; i < Shards.Length; i++)
        {
            Shards[i] = Path.Combine(_dir, $"shard{i}.npy");
            QuantizeCommandTests.WriteNpy(Shards[i], data.Images.AsSpan(i * per * 784, per * 784).ToArray(), [per, 1, 28, 28]);
        }
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    [TestMethod]
    public void MinMaxShardsInSeparateProcessesMergeIntoTheOnePassModelByteForByte()
    {
        var (sharded, onePass) = ShardedAndOnePass("minmax");
        CollectionAssert.AreEqual(File.ReadAllBytes(onePass), File.ReadAllBytes(sharded));
    }

    [TestMethod]
    public void HistogramShardsMergeWithinTheDocumentedTolerance()
    {
        var (sharded, onePass) = ShardedAndOnePass("histogram");
        var a = Scales(onePass);
        var b = Scales(sharded);
        CollectionAssert.AreEqual(a.Keys.ToList(), b.Keys.ToList(), "the same QDQ structure");
        double worst = a.Max(p => Math.Abs(p.Value - b[p.Key]) / p.Value);
        Console.WriteLine(FormattableString.Invariant($"histogram shards: largest relative scale difference {worst:E3} over {a.Count} activation scales"));
        Assert.IsLessThanOrEqualTo(HistogramScaleTolerance, worst);
    }

    [TestMethod]
    public void ConvertWithOtherOptionsThanCalibrateIsRefused()
    {
        string stats = Path.Combine(_dir, "minmax-only.stats");
        var calibrate = CliTestFiles.Run("calibrate", "--model", CliTestFiles.Model("fmnist_cnn"), "--calibration-data", Shards[0], "--activation-observer", "minmax", "--output", stats);
        Assert.AreEqual(0, calibrate.Code, calibrate.Err);
        var convert = CliTestFiles.Run("convert", "--model", CliTestFiles.Model("fmnist_cnn"), "--statistics", stats, "--output", Path.Combine(_dir, "wrong.onnx"));
        Assert.AreEqual(2, convert.Code);
        StringAssert.StartsWith(convert.Err, "error: ");
        StringAssert.Contains(convert.Err, stats);
        StringAssert.Contains(convert.Err, "fingerprint");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "wrong.onnx")));

        string garbage = Path.Combine(_dir, "garbage.stats");
        File.WriteAllText(garbage, "not statistics");
        var merge = CliTestFiles.Run("merge", stats, garbage, "--output", Path.Combine(_dir, "m.stats"));
        Assert.AreEqual(2, merge.Code);
        StringAssert.Contains(merge.Err, "garbage.stats");
        StringAssert.Contains(merge.Err, "not a statistics file");
    }

    /// <summary>Calibrates the three shards in three processes at once, merges, converts; and quantizes all the data in one pass.</summary>
    private static (string Sharded, string OnePass) ShardedAndOnePass(string observer)
    {
        string model = CliTestFiles.Model("fmnist_cnn");
        var stats = Shards.Select((_, i) => Path.Combine(_dir, $"{observer}-{i}.stats")).ToArray();
        var children = Shards.Select((shard, i) => Start("calibrate", "--model", model, "--calibration-data", shard, "--activation-observer", observer, "--output", stats[i])).ToList();
        foreach (var child in children)
        {
            using (child)
            {
                var stderr = child.StandardError.ReadToEndAsync();
                _ = child.StandardOutput.ReadToEnd();
                Assert.IsTrue(child.WaitForExit(300_000), "a calibrate shard did not finish");
                Assert.AreEqual(0, child.ExitCode, stderr.Result);
            }
        }

        string merged = Path.Combine(_dir, $"{observer}-all.stats");
        var merge = CliTestFiles.Run(["merge", .. stats, "--output", merged]);
        Assert.AreEqual(0, merge.Code, merge.Err);
        StringAssert.Contains(merge.Out, "384 samples");
        string sharded = Path.Combine(_dir, $"{observer}-sharded.onnx");
        var convert = CliTestFiles.Run("convert", "--model", model, "--statistics", merged, "--activation-observer", observer, "--output", sharded);
        Assert.AreEqual(0, convert.Code, convert.Err);
        string onePass = Path.Combine(_dir, $"{observer}-one-pass.onnx");
        var quantize = CliTestFiles.Run("quantize", "--model", model, "--calibration-data", _all, "--calibration-samples", "384", "--activation-observer", observer, "--output", onePass);
        Assert.AreEqual(0, quantize.Code, quantize.Err);
        return (sharded, onePass);
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-quantize.dll"));
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    /// <summary>The scale of every activation QuantizeLinear, by the tensor it quantizes.</summary>
    private static Dictionary<string, double> Scales(string path)
    {
        var graph = OnnxGraph.Load(path);
        return graph.Nodes.Where(n => n.OpType == "QuantizeLinear" && !graph.TryGetConstant(n.Inputs[0], out _))
            .GroupBy(n => n.Inputs[0]).Select(g => g.First())
            .ToDictionary(n => n.Inputs[0], n => graph.TryGetConstant(n.Inputs[1], out var scale) ? (double)scale.ToFloatArray()[0] : double.NaN);
    }
}
