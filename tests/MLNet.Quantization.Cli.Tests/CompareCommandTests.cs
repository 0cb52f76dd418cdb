using System.Text.Json;
using MLNet.Quantization.Cli.Plotting;
using MLNet.Quantization.Samples;
using SkiaSharp;

namespace MLNet.Quantization.Cli.Tests;

[TestClass]
public sealed class CompareCommandTests
{
    private static string _dir = "";
    private static string _data = "";
    private static string _quantized = "";

    private static string Model(string name) => CliTestFiles.Model(name);

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var test = FashionMnist.Load(train: false, maxCount: 300);
        _data = Path.Combine(_dir, "x.npy");
        QuantizeCommandTests.WriteNpy(_data, test.Images, [test.Count, 1, 28, 28]);
        _quantized = Path.Combine(_dir, "cnn_int8.onnx");
        Assert.AreEqual(0, CliApp.Run(["quantize", "--model", Model("fmnist_cnn"), "--output", _quantized, "--calibration-data", _data], TextWriter.Null, TextWriter.Null));
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTestFiles.Run(args);

    [TestMethod]
    public void CompareReportsLayersWorstFirstAndWritesJsonAndAPng()
    {
        string json = Path.Combine(_dir, "cmp.json");
        string png = Path.Combine(_dir, "cmp.png");
        var (code, stdout, stderr) = Run("compare", "--float", Model("fmnist_cnn"), "--quantized", _quantized, "--data", _data, "--samples", "200", "--json", json, "--plot", png);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "output logits: SQNR");
        StringAssert.Contains(stdout, "top-1 agreement");
        StringAssert.Contains(stdout, "/c3/Conv_output_0"); // BN-folded Conv output, matched through the prepared graph
        StringAssert.Contains(stdout, "c2.weight_bn_folded");

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.AreEqual(200L, root.GetProperty("samples").GetInt64());
        Assert.AreEqual(0, root.GetProperty("unmatched").GetArrayLength());
        var activations = root.GetProperty("activations").EnumerateArray().Select(a => a.GetProperty("sqnr_db").GetDouble()).ToList();
        Assert.HasCount(7, activations); // 9 quantization points but the float stem conv's input and output
        CollectionAssert.AreEqual(activations.Order().ToList(), activations, "worst first");
        Assert.HasCount(8, root.GetProperty("weights").EnumerateArray().ToList()); // 4 int8 layers: weight and bias each
        var output = root.GetProperty("outputs")[0];
        Assert.AreEqual("logits", output.GetProperty("name").GetString());
        Assert.IsGreaterThan(20.0, output.GetProperty("sqnr_db").GetDouble());
        Assert.IsGreaterThan(0.95, output.GetProperty("top1_agreement").GetDouble());

        using var bitmap = SKBitmap.Decode(png);
        Assert.IsNotNull(bitmap, "the PNG must decode");
        Assert.AreEqual(SqnrPlot.Width, bitmap.Width);
        Assert.AreEqual(SqnrPlot.Height, bitmap.Height);
        var colours = new HashSet<SKColor>();
        for (int x = 0; x < bitmap.Width; x += 7)
        {
            for (int y = 0; y < bitmap.Height; y += 7)
                colours.Add(bitmap.GetPixel(x, y));
        }

        Assert.IsGreaterThan(3, colours.Count, "the chart is not blank");
        Assert.IsEmpty(Directory.GetFiles(_dir, "*.tmp*"));
    }

    [TestMethod]
    public void CompareRejectsBadInputWithExitCode2()
    {
        string png = Path.Combine(_dir, "never.png");
        var cases = new (string[] Args, string Expect)[]
        {
            (["compare", "--float", Model("fmnist_cnn"), "--quantized", Path.Combine(_dir, "missing.onnx"), "--data", _data], "missing.onnx"),
            (["compare", "--float", Model("fmnist_cnn"), "--quantized", Model("fmnist_cnn"), "--data", _data], "not a QDQ model"),
            (["compare", "--float", Model("fmnist_cnn"), "--quantized", _quantized, "--data", _data, "--samples", "0"], "--samples"),
            (["compare", "--float", Model("fmnist_cnn"), "--quantized", _quantized, "--data", Path.Combine(_dir, "none.npy"), "--plot", png], "none.npy"),
            (["compare", "--float", Model("fmnist_cnn"), "--quantized", _quantized], "--data"),
        };
        foreach (var (args, expect) in cases)
        {
            var (code, _, stderr) = Run(args);
            string label = string.Join(' ', args);
            CliAssert.IsBadInput(code, stderr, expect, label);
            Assert.IsFalse(File.Exists(png), label);
        }
    }
}
