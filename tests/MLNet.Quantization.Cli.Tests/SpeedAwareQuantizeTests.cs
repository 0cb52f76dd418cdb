using System.Text.Json;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

/// <summary><c>quantize --speed-aware</c> end to end on fmnist_cnn: decisions in text and JSON, the cache beside the output, bad caches and options.</summary>
[TestClass]
public sealed class SpeedAwareQuantizeTests
{
    private static string _dir = "";
    private static string _calibration = "";

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli-speed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var calib = FashionMnist.Load(train: true, maxCount: 64);
        _calibration = Path.Combine(_dir, "calib.npy");
        QuantizeCommandTests.WriteNpy(_calibration, calib.Images, [64, 1, 28, 28]);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    private static string[] Quantize(string output, params string[] extra) =>
        ["quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--calibration-samples", "64", .. extra];

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();

    [TestMethod]
    public void SpeedAwareReportsEveryUnitWithItsTimingsAndASecondRunUsesTheCache()
    {
        string output = Path.Combine(_dir, "cnn.int8.onnx");
        string json = Path.Combine(_dir, "cnn.json");
        var (code, stdout, stderr) = CliTestFiles.Run(Quantize(output, "--speed-aware", "--speed-batch", "8", "--json", json));
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "speed-aware placement on input=8x1x28x28 (measured in ");
        StringAssert.Contains(stdout, "whole model: fp32 ");
        Assert.IsTrue(File.Exists(output + ".speed.json"), "the cache lives beside the output by default");

        var root = Json(json);
        var decisions = root.GetProperty("speed_decisions").EnumerateArray().ToList();
        Assert.HasCount(4, decisions, "fmnist_cnn has 2 quantized Conv and 2 Gemm");
        foreach (var d in decisions)
        {
            Assert.IsGreaterThan(0.0, d.GetProperty("int8_us").GetDouble());
            Assert.AreEqual(d.GetProperty("int8_us").GetDouble(), d.GetProperty("int8_kernel_us").GetDouble() + d.GetProperty("int8_boundary_us").GetDouble(), 0.011);
            CollectionAssert.Contains(new[] { "int8", "float" }, d.GetProperty("decision").GetString());
            StringAssert.Contains(stdout, $"'{d.GetProperty("node").GetString()}': int8 ");
        }

        var summary = root.GetProperty("speed_aware");
        Assert.IsFalse(summary.GetProperty("from_cache").GetBoolean());
        Assert.AreEqual(4, summary.GetProperty("units_total").GetInt32());
        Assert.IsGreaterThan(0.0, summary.GetProperty("fp32_us").GetDouble());
        Assert.IsGreaterThan(0.0, summary.GetProperty("measuring_seconds").GetDouble());

        string json2 = Path.Combine(_dir, "cnn2.json");
        var again = CliTestFiles.Run(Quantize(output, "--speed-aware", "--speed-batch", "8", "--json", json2));
        Assert.AreEqual(0, again.Code, again.Err);
        StringAssert.Contains(again.Out, "measurements from " + output + ".speed.json");
        var root2 = Json(json2);
        Assert.IsTrue(root2.GetProperty("speed_aware").GetProperty("from_cache").GetBoolean());
        Assert.AreEqual(root.GetProperty("speed_decisions").ToString(), root2.GetProperty("speed_decisions").ToString());
    }

    [TestMethod]
    public void DefaultQuantizeHasNoSpeedDecisionsAndWritesNoCache()
    {
        string output = Path.Combine(_dir, "plain.int8.onnx");
        string json = Path.Combine(_dir, "plain.json");
        Assert.AreEqual(0, CliTestFiles.Run(Quantize(output, "--json", json)).Code);
        Assert.AreEqual(JsonValueKind.Null, Json(json).GetProperty("speed_decisions").ValueKind);
        Assert.IsFalse(File.Exists(output + ".speed.json"));
    }

    [TestMethod]
    public void ACraftedCacheIsRefusedWithAnErrorNamingIt()
    {
        string cache = Path.Combine(_dir, "crafted.speed.json");
        File.WriteAllText(cache, "{\"format\": \"mlnet-quantization.speed\", \"version\": 1, \"key\": {\"model_sha256\": 5}}");
        string output = Path.Combine(_dir, "crafted.int8.onnx");
        var (code, _, stderr) = CliTestFiles.Run(Quantize(output, "--speed-aware", "--speed-cache", cache));
        CliAssert.IsBadInput(code, stderr, $"speed cache '{cache}' cannot be used", "crafted cache");
        Assert.IsFalse(File.Exists(output), "no model written");
    }

    [TestMethod]
    public void SpeedOptionsAreChecked()
    {
        string output = Path.Combine(_dir, "bad.int8.onnx");
        var a = CliTestFiles.Run(Quantize(output, "--speed-batch", "4"));
        CliAssert.IsBadInput(a.Code, a.Err, "only apply with --speed-aware", "speed-batch alone");
        var b = CliTestFiles.Run(Quantize(output, "--speed-aware", "--speed-batch", "0"));
        CliAssert.IsBadInput(b.Code, b.Err, "--speed-batch must be at least 1", "speed-batch 0");
        var c = CliTestFiles.Run(Quantize(output, "--speed-aware", "--min-output-sqnr", "20"));
        CliAssert.IsBadInput(c.Code, c.Err, "cannot be combined", "with the repair");
        var d = CliTestFiles.Run("quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", output, "--mode", "dynamic", "--speed-aware");
        CliAssert.IsBadInput(d.Code, d.Err, "--speed-aware needs --calibration-data", "no data");
    }
}
