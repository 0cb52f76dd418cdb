using System.Globalization;
using System.Text.Json;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// <c>quantize --min-output-sqnr</c> on fmnist_rowtf with the harsh config of the accuracy-aware proof: MinMax +
/// reduce-range, calibrated on the first 256 training images of which two (indices 85 and 170) are raw 0–255 pixels.
/// </summary>
[TestClass]
public sealed class SqnrRepairQuantizeTests
{
    private static string _dir = "";
    private static string _calibration = "";

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli-sqnr-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var calib = FashionMnist.Load(train: true, maxCount: 256);
        var raw = FashionMnist.Load(train: true, maxCount: 256, normalize: false);
        var images = calib.Images.ToArray();
        foreach (int index in new[] { 85, 170 })
            Array.Copy(raw.Images, index * 784, images, index * 784, 784);
        _calibration = Path.Combine(_dir, "calib_outliers.npy");
        QuantizeCommandTests.WriteNpy(_calibration, images, [256, 1, 28, 28]);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    private static string[] Harsh(string output, params string[] extra) =>
    [
        "quantize", "--model", CliTestFiles.Model("fmnist_rowtf"), "--output", output, "--calibration-data", _calibration, "--calibration-samples", "256",
        "--activation-observer", "minmax", "--reduce-range", .. extra,
    ];

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();

    [TestMethod]
    public void MinOutputSqnrGivesLayersBackUntilTheTargetAndListsEachDecisionInTextAndJson()
    {
        string plainJson = Path.Combine(_dir, "plain.json");
        Assert.AreEqual(0, CliTestFiles.Run(Harsh(Path.Combine(_dir, "plain.onnx"), "--json", plainJson)).Code);
        double initial = Json(plainJson).GetProperty("output_sqnr_db").GetDouble();
        Assert.AreEqual(JsonValueKind.Null, Json(plainJson).GetProperty("output_sqnr_repair").ValueKind);

        double target = Math.Round(initial + 6, 2);
        string output = Path.Combine(_dir, "repaired.onnx");
        string json = Path.Combine(_dir, "repaired.json");
        var (code, stdout, stderr) = CliTestFiles.Run(Harsh(output, "--min-output-sqnr", target.ToString(CultureInfo.InvariantCulture), "--json", json));
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "output SQNR repair: target ≥ " + target.ToString("F2", CultureInfo.InvariantCulture));
        StringAssert.Contains(stdout, "step 1: ");
        StringAssert.Contains(stdout, "target met");

        var root = Json(json);
        var repair = root.GetProperty("output_sqnr_repair");
        Assert.AreEqual(target, repair.GetProperty("target_db").GetDouble());
        Assert.AreEqual(initial, repair.GetProperty("initial_sqnr_db").GetDouble(), 1e-3);
        Assert.IsTrue(repair.GetProperty("target_met").GetBoolean());
        double final = repair.GetProperty("final_sqnr_db").GetDouble();
        Assert.IsGreaterThanOrEqualTo(target, final);
        Assert.AreEqual(root.GetProperty("output_sqnr_db").GetDouble(), final, 1e-3);
        var decisions = repair.GetProperty("decisions").EnumerateArray().ToList();
        Assert.IsNotEmpty(decisions);
        Assert.IsLessThan(repair.GetProperty("layers_total").GetInt32(), decisions.Count);
        Assert.AreEqual(repair.GetProperty("layers_total").GetInt32() - decisions.Count, repair.GetProperty("layers_quantized").GetInt32());
        Assert.AreEqual(initial, decisions[0].GetProperty("sqnr_before_db").GetDouble(), 1e-3);
        Assert.AreEqual(final, decisions[^1].GetProperty("sqnr_after_db").GetDouble(), 1e-3);
        StringAssert.Contains(stdout, $"'{decisions[0].GetProperty("node").GetString()}' back to float");
        var floatNodes = root.GetProperty("float_nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToHashSet();
        Assert.IsTrue(decisions.All(d => floatNodes.Contains(d.GetProperty("node").GetString())));
    }

    [TestMethod]
    public void MinOutputSqnrIsCheckedBeforeAnyWork()
    {
        string output = Path.Combine(_dir, "never.onnx");
        var cases = new (string[] Args, string Expect)[]
        {
            (Harsh(output, "--min-output-sqnr", "NaN"), "--min-output-sqnr"),
            (["quantize", "--model", CliTestFiles.Model("fmnist_rowtf"), "--output", output, "--mode", "dynamic", "--min-output-sqnr", "20"], "--mode static"),
            (Harsh(output, "--min-output-sqnr", "20", "--max-accuracy-drop", "0.01", "--eval-data", _calibration, "--eval-labels", _calibration), "--max-accuracy-drop"),
        };
        foreach (var (args, expect) in cases)
        {
            var (code, _, stderr) = CliTestFiles.Run(args);
            string label = string.Join(' ', args);
            CliAssert.IsBadInput(code, stderr, expect, label);
            Assert.IsFalse(File.Exists(output), label);
        }
    }
}
