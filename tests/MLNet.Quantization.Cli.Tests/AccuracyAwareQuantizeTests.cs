using System.Text.Json;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// <c>quantize --max-accuracy-drop</c> on fmnist_rowtf with the harsh config of the library's proof: MinMax +
/// reduce-range, calibrated on the first 256 training images of which two (indices 85 and 170) are raw 0–255 pixels.
/// </summary>
[TestClass]
public sealed class AccuracyAwareQuantizeTests
{
    private static string _dir = "";
    private static string _calibration = "";
    private static string _evalData = "";
    private static string _evalLabels = "";

    private static string Model(string name) => CliTestFiles.Model(name);

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli-aa-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var calib = FashionMnist.Load(train: true, maxCount: 256);
        var raw = FashionMnist.Load(train: true, maxCount: 256, normalize: false);
        var images = calib.Images.ToArray();
        foreach (int index in new[] { 85, 170 })
            Array.Copy(raw.Images, index * 784, images, index * 784, 784);
        _calibration = Path.Combine(_dir, "calib_outliers.npy");
        QuantizeCommandTests.WriteNpy(_calibration, images, [256, 1, 28, 28]);
        var test = FashionMnist.Load(train: false, maxCount: 500);
        _evalData = Path.Combine(_dir, "eval.npy");
        QuantizeCommandTests.WriteNpy(_evalData, test.Images, [test.Count, 1, 28, 28]);
        _evalLabels = Path.Combine(_dir, "eval_labels.npy");
        OtherCommandsTests.WriteInt64Npy(_evalLabels, test.Labels.Select(l => (long)l).ToArray());
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTestFiles.Run(args);

    private static string[] Harsh(string output, params string[] extra) =>
    [
        "quantize", "--model", Model("fmnist_rowtf"), "--output", output, "--calibration-data", _calibration, "--calibration-samples", "256",
        "--activation-observer", "minmax", "--reduce-range", .. extra,
    ];

    [TestMethod]
    public void AccuracyAwareModeGivesTheHarmfulLayerBackAndListsEachDecision()
    {
        string output = Path.Combine(_dir, "rowtf_aa.onnx");
        string json = Path.Combine(_dir, "aa.json");
        var (code, stdout, stderr) = Run(Harsh(output, "--max-accuracy-drop", "0.005", "--eval-data", _evalData, "--eval-labels", _evalLabels, "--json", json));
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "step 1: MatMul '/emb/MatMul' back to float");
        StringAssert.Contains(stdout, "target met");
        Assert.IsTrue(File.Exists(output));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var aa = doc.RootElement.GetProperty("accuracy_aware");
        double floatTop1 = aa.GetProperty("float_top1").GetDouble();
        Assert.IsGreaterThan(0.01, floatTop1 - aa.GetProperty("initial_top1").GetDouble());
        Assert.IsLessThanOrEqualTo(0.005, aa.GetProperty("drop").GetDouble());
        Assert.IsGreaterThanOrEqualTo(0.8 * aa.GetProperty("layers_total").GetInt32(), aa.GetProperty("layers_quantized").GetInt32());
        var decisions = aa.GetProperty("decisions").EnumerateArray().ToList();
        Assert.IsNotEmpty(decisions);
        Assert.AreEqual("/emb/MatMul", decisions[0].GetProperty("node").GetString());
        Assert.AreEqual(aa.GetProperty("final_top1").GetDouble(), decisions[^1].GetProperty("top1").GetDouble());

        // the written model really scores what the summary says
        var (evalCode, evalOut, _) = Run("eval", "--model", output, "--data", _evalData, "--labels", _evalLabels);
        Assert.AreEqual(0, evalCode);
        StringAssert.Contains(evalOut, $"top-1 accuracy: {aa.GetProperty("final_top1").GetDouble():F4}");
    }

    [TestMethod]
    public void AccuracyAwareOptionsAreCheckedBeforeAnyWork()
    {
        string output = Path.Combine(_dir, "never.onnx");
        var cases = new (string[] Args, string Expect)[]
        {
            (Harsh(output, "--max-accuracy-drop", "0.005", "--eval-data", _evalData), "--eval-labels"),
            (Harsh(output, "--eval-data", _evalData, "--eval-labels", _evalLabels), "--max-accuracy-drop"),
            (Harsh(output, "--max-accuracy-drop", "-0.1", "--eval-data", _evalData, "--eval-labels", _evalLabels), "--max-accuracy-drop"),
            (Harsh(output, "--max-accuracy-drop", "0.005", "--eval-data", _evalData, "--eval-labels", _evalData), "--eval-labels"),
            (Harsh(output, "--max-accuracy-drop", "0.005", "--eval-data", _calibration, "--eval-labels", _evalLabels), "--eval-data"),
            (Harsh(output, "--accuracy-layer-types", "Gemm"), "--accuracy-layer-types"),
        };
        foreach (var (args, expect) in cases)
        {
            var (code, _, stderr) = Run(args);
            string label = string.Join(' ', args);
            CliAssert.IsBadInput(code, stderr, expect, label);
            Assert.IsFalse(File.Exists(output), label);
        }
    }

    [TestMethod]
    public void AnUnmetTargetExitsWithCode2NamingTheBestResultAndWritesNothing()
    {
        // only the head Gemm may go back to float, but the damage is in the embedding MatMul
        string output = Path.Combine(_dir, "unmet.onnx");
        var (code, stdout, stderr) = Run(Harsh(output, "--max-accuracy-drop", "0.005", "--eval-data", _evalData, "--eval-labels", _evalLabels,
            "--accuracy-layer-types", "Gemm"));
        Assert.AreEqual(2, code, stdout + stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, stderr);
        StringAssert.StartsWith(lines[0], "error: --max-accuracy-drop 0.005: target not met");
        StringAssert.Contains(lines[0], "best result: top-1 ");
        StringAssert.Contains(lines[0], "of 1 layers in float"); // giving /head/Gemm back did not help, so the best is the first model
        StringAssert.Contains(lines[0], "no model written");
        Assert.IsFalse(File.Exists(output));
        Assert.IsEmpty(Directory.GetFiles(_dir, "*.tmp*"));
    }
}
