using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MLNet.Quantization.Cli;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// Calibration data problems through <c>mlnet-quantize quantize</c>: all-zero data is handled (exit 0), fewer samples
/// than <c>--calibration-samples</c> uses what there is, and NaN/Inf values (named by input and share), an empty, wrongly typed,
/// wrongly sized or wrongly named data file exits 2 with one <c>error:</c> line and no output file.
/// </summary>
[TestClass]
public sealed class CalibrationDataCliTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-cli-data-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static string Model(string name) => CliTestFiles.Model(name);

    private static float[] Samples(int count, Func<int, float> value) => Enumerable.Range(0, count * 784).Select(value).ToArray();

    private (int Code, string Err, JsonElement? Summary) Quantize(string data, params string[] extra)
    {
        string output = Path.Combine(_dir, "out.onnx");
        string json = Path.Combine(_dir, "summary.json");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string[] args = ["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", data, "--activation-observer", "minmax", "--json", json, .. extra];
        int code = CliApp.Run(args, stdout, stderr);
        if (code != 0)
        {
            Assert.IsFalse(File.Exists(output), "no output file after a failure");
            Assert.IsEmpty(Directory.GetFiles(_dir, "*.tmp"));
            return (code, stderr.ToString(), null);
        }

        Assert.IsTrue(File.Exists(output));
        var summary = JsonDocument.Parse(File.ReadAllText(json)).RootElement.Clone();
        File.Delete(output);
        return (code, stderr.ToString(), summary);
    }

    private static void AssertOneErrorLine(string stderr, string expect)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, stderr);
        StringAssert.StartsWith(lines[0], "error: ");
        StringAssert.Contains(lines[0], expect);
    }

    private string Npy(string name, float[] data, params int[] shape)
    {
        string path = Path.Combine(_dir, name);
        QuantizeCommandTests.WriteNpy(path, data, shape);
        return path;
    }

    [TestMethod]
    public void SamplesWithNaNOrInfinityExitTwoNamingTheInputAndTheShare()
    {
        // samples 0 and 5 hold NaN and ±Inf; with --batch-size 4, sample 5 is in batch 2 (the first batch fails first)
        var random = new Random(1);
        var data = Samples(8, i => i / 784 is 0 or 5 && i % 7 == 0 ? (i % 3 == 0 ? float.NaN : i % 3 == 1 ? float.PositiveInfinity : float.NegativeInfinity) : (float)random.NextDouble());
        var (code, err, _) = Quantize(Npy("nan.npy", data, 8, 1, 28, 28), "--batch-size", "4");
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "non-finite value(s) (NaN or ±Inf) of 3136 (3.6 %) in batch 1");
        StringAssert.Contains(err, "calibration input '");
    }

    [TestMethod]
    public void AllNaNDataExitsTwoNamingTheInput()
    {
        var (code, err, _) = Quantize(Npy("allnan.npy", Samples(4, _ => float.NaN), 4, 1, 28, 28));
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "(100.0 %) in batch 1");
    }

    [TestMethod]
    public void AllZeroDataQuantizes()
    {
        var (code, err, _) = Quantize(Npy("zeros.npy", Samples(4, _ => 0f), 4, 1, 28, 28));
        Assert.AreEqual(0, code, err);
    }

    [TestMethod]
    public void FewerSamplesThanRequestedUsesThoseThereAre()
    {
        var random = new Random(2);
        var (code, err, summary) = Quantize(Npy("three.npy", Samples(3, _ => (float)random.NextDouble()), 3, 1, 28, 28), "--calibration-samples", "512");
        Assert.AreEqual(0, code, err);
        Assert.AreEqual(3, summary!.Value.GetProperty("calibration_samples").GetInt32());
    }

    [TestMethod]
    public void EmptyWrongTypeWrongSizeAndMissingInputExitTwo()
    {
        var (code, err, _) = Quantize(Npy("empty.npy", [], 0, 1, 28, 28));
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "empty.npy");

        string complex = Path.Combine(_dir, "complex.npy");
        WriteRawNpy(complex, "<c8", [2, 1, 28, 28], new byte[2 * 784 * 8]);
        (code, err, _) = Quantize(complex);
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "complex.npy");

        string csv = Path.Combine(_dir, "short.csv");
        File.WriteAllText(csv, string.Join(",", Enumerable.Repeat("0.5", 700)) + "\n");
        (code, err, _) = Quantize(csv);
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "short.csv");

        string npz = Path.Combine(_dir, "named.npz");
        string inner = Npy("image.npy", Samples(2, _ => 0.5f), 2, 1, 28, 28);
        using (var zip = ZipFile.Open(npz, ZipArchiveMode.Create))
            zip.CreateEntryFromFile(inner, "image.npy");
        (code, err, _) = Quantize(npz);
        Assert.AreEqual(2, code, err);
        AssertOneErrorLine(err, "'input'");
    }

    private static void WriteRawNpy(string path, string descr, int[] shape, byte[] payload)
    {
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(Encoding.Latin1.GetBytes(header));
        f.Write(payload);
    }
}
