using System.Text;
using MLNet.Quantization.Cli.DataFiles;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>
/// <c>.csv</c> data (issue #15, item 9): a row is one sample of any rank flattened in C order, NumPy's <c>inf</c>/<c>nan</c>
/// spellings parse, and a line longer than its values can need is refused by line number without buffering it.
/// </summary>
[TestClass]
public sealed class CsvDataFileTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-csv-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static string ShapesModel(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "shapes", name + ".onnx");

    private (int Code, string Out, string Err, byte[]? Model) Quantize(string data, params string[] extra)
    {
        string output = Path.Combine(_dir, "out.onnx");
        var (code, stdout, err) = CliTestFiles.Run(["quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", output, "--calibration-data", data,
            "--activation-observer", "minmax", .. extra]);
        if (code != 0)
            return (code, stdout, err, null);
        var bytes = File.ReadAllBytes(output);
        File.Delete(output);
        return (code, stdout, err, bytes);
    }

    /// <summary>The same <paramref name="count"/> seeded fmnist samples as <c>NAME.npy</c> and <c>NAME.csv</c>.</summary>
    private (string Npy, string Csv) SameSamples(string name, int count, int seed)
    {
        var samples = DataFiles.Samples(count, seed);
        string npy = DataFiles.Write(_dir, name + ".npy", DataFiles.FloatNpy(samples, count, 1, 28, 28));
        string csv = Path.Combine(_dir, name + ".csv");
        File.WriteAllText(csv, DataFiles.Csv(samples, DataFiles.SampleSize));
        return (npy, csv);
    }

    [TestMethod]
    public void ARank4InputFromCsvCalibratesExactlyAsTheSameNpy()
    {
        var (npy, csv) = SameSamples("calib", 6, 11);
        var fromNpy = Quantize(npy);
        var fromCsv = Quantize(csv);
        Assert.AreEqual(0, fromNpy.Code, fromNpy.Err);
        Assert.AreEqual(0, fromCsv.Code, fromCsv.Err);
        CollectionAssert.AreEqual(fromNpy.Model, fromCsv.Model, "the same samples give the same int8 model");

        // Fewer rows than --calibration-samples are used, and reading stops after the rows asked for.
        File.AppendAllText(csv, "not,a,row\n");
        var firstSix = Quantize(csv, "--calibration-samples", "6");
        Assert.AreEqual(0, firstSix.Code, firstSix.Err);
        CollectionAssert.AreEqual(fromNpy.Model, firstSix.Model);
    }

    [TestMethod]
    public void ASearchModeRereadingACsvPerTrialGivesTheModelOfTheSameNpy()
    {
        // 70 samples in batches of 32: two whole batches and a last one of 6, read again on every trial of the repair,
        // whose target (3 dB above the fully quantized model's) takes at least one layer back to float
        var (npy, csv) = SameSamples("calib70", 70, 14);
        (string Out, byte[] Model) Run(string data, params string[] mode)
        {
            var run = Quantize(data, ["--batch-size", "32", .. mode]);
            Assert.AreEqual(0, run.Code, run.Err);
            return (run.Out, run.Model!);
        }

        var plain = Run(npy);
        CollectionAssert.AreEqual(plain.Model, Run(csv).Model, "the same samples give the same int8 model");
        var sqnr = System.Text.RegularExpressions.Regex.Match(plain.Out, @"output SQNR: ([0-9.]+) dB");
        Assert.IsTrue(sqnr.Success, plain.Out);
        string target = (double.Parse(sqnr.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 3).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
        var repairedNpy = Run(npy, "--min-output-sqnr", target);
        var repairedCsv = Run(csv, "--min-output-sqnr", target);
        StringAssert.Contains(repairedCsv.Out, "step 1: ");
        static string[] Steps(string stdout) => stdout.Split('\n').Where(l => l.TrimStart().StartsWith("step ", StringComparison.Ordinal)).ToArray();
        CollectionAssert.AreEqual(Steps(repairedNpy.Out), Steps(repairedCsv.Out), "the same decisions, with the same SQNR figures");
        CollectionAssert.AreEqual(repairedNpy.Model, repairedCsv.Model, $"--min-output-sqnr {target}: the same model from the .csv as from the .npy");
        CollectionAssert.AreNotEqual(plain.Model, repairedCsv.Model, "the repair gave layers back");
    }

    [TestMethod]
    [DataRow("inf", float.PositiveInfinity)]
    [DataRow("+inf", float.PositiveInfinity)]
    [DataRow("-inf", float.NegativeInfinity)]
    [DataRow("INF", float.PositiveInfinity)]
    [DataRow("Infinity", float.PositiveInfinity)]
    [DataRow(" -Infinity\r", float.NegativeInfinity)]
    [DataRow("nan", float.NaN)]
    [DataRow("NaN", float.NaN)]
    [DataRow("-nan", float.NaN)]
    [DataRow("1.5e-3", 1.5e-3f)]
    [DataRow("-2", -2f)]
    public void NumPySpellingsParse(string cell, float expected)
    {
        Assert.IsTrue(CsvReader.TryParse(cell, out float value), cell);
        Assert.AreEqual(expected, value, cell);
    }

    [TestMethod]
    [DataRow("infinit")]
    [DataRow("nann")]
    [DataRow("")]
    [DataRow("1,5")]
    [DataRow("0x10")]
    [DataRow("--1")]
    public void NonNumbersDoNotParse(string cell) => Assert.IsFalse(CsvReader.TryParse(cell, out _), cell);

    [TestMethod]
    public void CsvWithInfAndNanAsNumPyWritesThemReachesTheNonFiniteInputCheck()
    {
        // All six spellings are read as numbers (a parse failure would name the line); calibration then refuses them,
        // counting exactly six non-finite values in the model input (#15 item 8).
        var samples = DataFiles.Samples(4, 12);
        var lines = DataFiles.Csv(samples, DataFiles.SampleSize).Split('\n');
        lines[1] = "inf,-inf,nan,+inf,NaN,-Infinity," + string.Join(",", lines[1].Split(',').Skip(6));
        string path = Path.Combine(_dir, "special.csv");
        File.WriteAllText(path, string.Join("\n", lines));
        var (code, _, err, _) = Quantize(path);
        CliAssert.IsBadInput(code, err, "calibration input 'input' has 6 non-finite value(s)", "numpy spellings of inf and nan");
    }

    [TestMethod]
    public void SymbolicNonBatchDimensionsNeedInputShapeAndThenRowsOfThatSize()
    {
        string model = ShapesModel("symbolic_hw");
        string output = Path.Combine(_dir, "hw.onnx");
        var random = new Random(5);
        string csv = Path.Combine(_dir, "hw.csv");
        File.WriteAllText(csv, DataFiles.Csv(Enumerable.Range(0, 8 * 576).Select(_ => (float)random.NextDouble()).ToArray(), 576));

        var (code, _, err) = CliTestFiles.Run("quantize", "--model", model, "--output", output, "--calibration-data", csv);
        CliAssert.IsBadInput(code, err, "give their sizes with --input-shape x=", "symbolic H and W");
        StringAssert.Contains(err, "hw.csv");

        (code, _, err) = CliTestFiles.Run("quantize", "--model", model, "--output", output, "--calibration-data", csv, "--input-shape", "x=4x3x16x12", "--batch-size", "4");
        Assert.AreEqual(0, code, err);
        Assert.IsTrue(File.Exists(output));
    }

    [TestMethod]
    public void ALineLongerThanItsValuesCanNeedIsRefusedByNumberInBoundedMemory()
    {
        // 784 values need at most 784 * 32 + 256 characters; line 2 is 50 MB. Before, one 200 MB line cost 3.9 GB.
        string path = Path.Combine(_dir, "long.csv");
        using (var writer = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            writer.Write(DataFiles.Csv(DataFiles.Samples(1, 13), DataFiles.SampleSize));
            var chunk = new string('7', 1 << 20);
            for (int i = 0; i < 50; i++)
                writer.Write(chunk);
            writer.Write('\n');
        }

        var run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(_dir, "out.onnx"),
            "--calibration-data", path);
        HostileAssert.IsBadInput(run, "long.csv' line 2", 400, "50 MB line");

        // 784 cells of 100 characters each (valid numbers) pass the per-value bound but not the line's.
        string cell = "0." + new string('0', 97) + "1";
        File.WriteAllText(path, string.Join(",", Enumerable.Repeat(cell, DataFiles.SampleSize)) + "\n");
        var (code, _, err) = CliTestFiles.Run("quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(_dir, "out.onnx"), "--calibration-data", path);
        CliAssert.IsBadInput(code, err, "long.csv' line 1 is longer than the 25344 characters 784 values can need", "wide cells");

        // A line of a million values, and a value longer than any number, are caught as early.
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("1,", 1 << 20)) + "\n");
        (code, _, err) = CliTestFiles.Run("quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(_dir, "out.onnx"), "--calibration-data", path);
        CliAssert.IsBadInput(code, err, "line 1 has more than 784 values", "commas");
        File.WriteAllText(path, new string('1', 1000) + "\n");
        (code, _, err) = CliTestFiles.Run("quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(_dir, "out.onnx"), "--calibration-data", path);
        CliAssert.IsBadInput(code, err, "line 1, value 1: longer than", "long value");
    }
}
