using System.Text;
using System.Text.Json;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

[TestClass]
public sealed class OtherCommandsTests
{
    private static string _dir = "";
    private static string _quantized = "";
    private static string _data = "";
    private static string _labels = "";

    private static string Model(string name) => CliTestFiles.Model(name);

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli2-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var test = FashionMnist.Load(train: false, maxCount: 400);
        _data = Path.Combine(_dir, "x.npy");
        QuantizeCommandTests.WriteNpy(_data, test.Images, [test.Count, 1, 28, 28]);
        _labels = Path.Combine(_dir, "y.npy");
        WriteInt64Npy(_labels, test.Labels.Select(l => (long)l).ToArray());
        _quantized = Path.Combine(_dir, "q.onnx");
        int code = CliApp.Run(["quantize", "--model", Model("fmnist_cnn"), "--output", _quantized, "--calibration-data", _data], TextWriter.Null, TextWriter.Null);
        Assert.AreEqual(0, code);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    internal static void WriteInt64Npy(string path, long[] data)
    {
        string header = $"{{'descr': '<i8', 'fortran_order': False, 'shape': ({data.Length},), }}";
        header = header.PadRight(header.Length + (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(Encoding.Latin1.GetBytes(header));
        foreach (var v in data)
            f.Write(BitConverter.GetBytes(v));
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTestFiles.Run(args);

    [TestMethod]
    public void InspectShowsQdqUnitsAndFusedKernels()
    {
        string json = Path.Combine(_dir, "inspect.json");
        var (code, stdout, stderr) = Run("inspect", "--model", _quantized, "--json", json);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "input  input: Float[");
        StringAssert.Contains(stdout, "quantized node units: ");
        StringAssert.Contains(stdout, "QLinearConv 2"); // the 1-channel stem conv stays float (KeepNarrowConvsInFloat)
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(2, doc.RootElement.GetProperty("fused_op_types").GetProperty("QLinearConv").GetInt32());
        Assert.AreEqual(2, doc.RootElement.GetProperty("quantized_node_units").GetProperty("Conv").GetInt32());
        // what ORT runs in int8: both quantized convs, and no quantized node left in float
        StringAssert.Contains(stdout, "int8 kernels ONNX Runtime runs: QLinearConv 2");
        Assert.AreEqual(2, doc.RootElement.GetProperty("int8_kernels").GetProperty("QLinearConv").GetInt32());
        Assert.AreEqual(0, doc.RootElement.GetProperty("unfused_quantized").GetArrayLength());
    }

    [TestMethod]
    public void EvalPrintsAccuracyAndConfusion()
    {
        var (code, stdout, stderr) = Run("eval", "--model", _quantized, "--data", _data, "--labels", _labels);
        Assert.AreEqual(0, code, stderr);
        var line = stdout.Split('\n')[0];
        StringAssert.StartsWith(line, "top-1 accuracy: ");
        double accuracy = double.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsGreaterThan(0.85, accuracy);
        Assert.AreEqual(12, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, "accuracy, header and 10 confusion rows");

        var (bad, _, err) = Run("eval", "--model", _quantized, "--data", _data, "--labels", _data);
        Assert.AreEqual(2, bad);
        StringAssert.Contains(err, "--labels");
    }

    [TestMethod]
    public void BenchReportsTheBaselineRatio()
    {
        string json = Path.Combine(_dir, "bench.json");
        var (code, stdout, stderr) = Run("bench", "--model", _quantized, "--baseline", Model("fmnist_cnn"), "--batch", "1,8", "--iterations", "5", "--json", json);
        Assert.AreEqual(0, code, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(2, lines);
        StringAssert.StartsWith(lines[0], "batch 1: ");
        StringAssert.Contains(lines[1], "speed-up");
        Assert.DoesNotContain("\u001b", stdout, "redirected output must be plain");
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var results = doc.RootElement.GetProperty("results");
            Assert.AreEqual(2, results.GetArrayLength());
            var second = results[1];
            Assert.AreEqual(8, second.GetProperty("batch").GetInt32());
            double median = second.GetProperty("median_ms").GetDouble();
            double baseline = second.GetProperty("baseline_median_ms").GetDouble();
            Assert.AreEqual(baseline / median, second.GetProperty("speed_up").GetDouble(), 1e-3 * baseline / median + 1e-3);
            Assert.AreEqual(8 * 1000 / median, second.GetProperty("samples_per_second").GetDouble(), 1e-3 * 8000 / median + 1e-3);
        }

        var (bad, _, err) = Run("bench", "--model", _quantized, "--batch", "0");
        Assert.AreEqual(2, bad);
        StringAssert.Contains(err, "--batch");
    }
}
