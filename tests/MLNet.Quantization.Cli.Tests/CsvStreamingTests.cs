using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Cli.DataFiles;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// A <c>.csv</c> of calibration samples is read one batch at a time (<see cref="CsvRowStream"/>), after a first pass
/// that checks every row, and the search modes read it again on every pass (<see cref="RereadBatches"/>), refusing a
/// file that changed in between. The expected values are the numbers the tests write into the files.
/// </summary>
[TestClass]
public sealed class CsvStreamingTests
{
    private const int SampleSize = 784;
    private static readonly Lazy<OnnxGraph> Cnn = new(() => OnnxGraph.FromModel(OnnxModel.Load(CliTestFiles.Model("fmnist_cnn"))));
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-csvstream-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    /// <summary>The value written at <paramref name="row"/>, <paramref name="column"/> (with <paramref name="seed"/> for other content).</summary>
    private static float Value(int row, int column, int seed = 0) => ((row * 7919) + (column * 31) + (seed * 101)) % 1000 / 997f - 0.25f;

    private static float[] Row(int row, int size, int seed = 0) => Enumerable.Range(0, size).Select(c => Value(row, c, seed)).ToArray();

    private string WriteCsv(string name, int rows, int size, int seed = 0)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, Enumerable.Range(0, rows).Select(r => string.Join(",", Row(r, size, seed).Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        return path;
    }

    private static float[] Floats(IEnumerable<IReadOnlyList<NamedTensor>> batches) =>
        batches.SelectMany(b => b.Single().Floats!).ToArray();

    private static float[] Expected(int rows, int size, int seed = 0) =>
        Enumerable.Range(0, rows).SelectMany(r => Row(r, size, seed)).ToArray();

    [TestMethod]
    public void RowsComeInBatchesAsWrittenInOrderWithALastPartialBatchAndNoneHeldBetween()
    {
        string path = WriteCsv("rows.csv", 10, 6);
        using (var stream = CsvReader.Open(path, [2, 3], ValueKind.Float, maxRows: 100))
        {
            CollectionAssert.AreEqual(new[] { 10, 2, 3 }, stream.Shape, "the first pass counts the rows");
            Assert.AreEqual(0, stream.PendingValues, "the first pass keeps no values");
            int row = 0;
            foreach (int expectedRows in new[] { 4, 4, 2, 0 })
            {
                var batch = stream.ReadRows(4);
                CollectionAssert.AreEqual(new[] { expectedRows, 2, 3 }, batch.Shape);
                CollectionAssert.AreEqual(Enumerable.Range(row, expectedRows).SelectMany(r => Row(r, 6)).ToArray(), batch.Floats, $"rows {row}..");
                Assert.AreEqual(0, stream.PendingValues, "nothing is held beyond the batch returned");
                row += expectedRows;
            }
        }

        // at most maxRows rows, the last batch cut there
        using var first7 = CsvReader.Open(path, [6], ValueKind.Float, maxRows: 7);
        Assert.AreEqual(7, first7.Shape[0]);
        CollectionAssert.AreEqual(Expected(4, 6), first7.ReadRows(4).Floats);
        CollectionAssert.AreEqual(Enumerable.Range(4, 3).SelectMany(r => Row(r, 6)).ToArray(), first7.ReadRows(4).Floats);
        Assert.AreEqual(0, first7.ReadRows(4).Shape[0]);
    }

    [TestMethod]
    public void RowsAlreadyCheckedAreStillRefusedWhenMalformedOrMissingAsTheyAreRead()
    {
        // a pass after the check skips it (the file is unchanged), but a row that is not what was checked still fails
        string path = WriteCsv("rows.csv", 5, 6);
        using (var stream = CsvReader.Open(path, [6], ValueKind.Float, maxRows: 5, rowsChecked: true))
        {
            Assert.AreEqual(5, stream.Shape[0]);
            CollectionAssert.AreEqual(Expected(5, 6), stream.ReadRows(5).Floats);
        }

        var lines = File.ReadAllLines(path);
        File.WriteAllLines(path, lines.Take(3));
        using (var shorter = CsvReader.Open(path, [6], ValueKind.Float, maxRows: 5, rowsChecked: true))
        {
            CollectionAssert.AreEqual(Expected(2, 6), shorter.ReadRows(2).Floats);
            var e = Assert.ThrowsExactly<CliException>(() => shorter.ReadRows(2));
            StringAssert.Contains(e.Message, "rows.csv' ended after 3 rows, but its first pass counted 5: the file changed while it was being read");
        }

        lines[3] = "1,2,x,4,5,6";
        File.WriteAllLines(path, lines);
        using var malformed = CsvReader.Open(path, [6], ValueKind.Float, maxRows: 5, rowsChecked: true);
        Assert.AreEqual(3, malformed.ReadRows(3).Shape[0]);
        StringAssert.Contains(Assert.ThrowsExactly<CliException>(() => malformed.ReadRows(2)).Message, "rows.csv' line 4: 'x' is not a number");
    }

    [TestMethod]
    public void StreamedCsvBatchesAreThoseOfTheWholeReadAndOfTheSameNpy()
    {
        string csv = WriteCsv("five.csv", 5, SampleSize);
        string npy = Path.Combine(_dir, "five.npy");
        QuantizeCommandTests.WriteNpy(npy, Expected(5, SampleSize), [5, 1, 28, 28]);

        using var streamed = ModelInputs.Stream(Cnn.Value, csv, maxSamples: 512, batchSize: 2);
        Assert.AreEqual(5L, streamed.TotalSamples);
        var batches = streamed.ToList();
        CollectionAssert.AreEqual(new[] { 2, 2, 1 }, batches.Select(b => b.Single().Shape[0]).ToArray(), "two whole batches and a last partial one");
        Assert.IsTrue(batches.All(b => b.Single().Name == "input" && b.Single().Shape.Skip(1).SequenceEqual([1, 28, 28])));
        CollectionAssert.AreEqual(Expected(5, SampleSize), Floats(batches), "the values written, in order");

        CollectionAssert.AreEqual(Floats(batches), Floats(ModelInputs.Batches(Cnn.Value, csv, 512, 2)), "as the whole-file read");
        using var fromNpy = ModelInputs.Stream(Cnn.Value, npy, maxSamples: 512, batchSize: 2);
        CollectionAssert.AreEqual(Floats(batches), Floats(fromNpy), "as the same samples in a .npy");
    }

    [TestMethod]
    [DataRow("short", "line 290 has 783 values; the model input needs 784")]
    [DataRow("long", "line 290 has more than 784 values")]
    [DataRow("text", "line 290: 'abc' is not a number")]
    [DataRow("empty", "holds no samples")]
    [DataRow("blank", "holds no samples")]
    public void AMalformedCsvIsRefusedNamingTheFileAndLineBeforeAnyBatch(string fault, string expected)
    {
        string path = WriteCsv("bad.csv", 300, SampleSize);
        var lines = File.ReadAllLines(path);
        var cells = lines[289].Split(',');
        switch (fault)
        {
            case "short":
                lines[289] = string.Join(",", cells.Skip(1));
                break;
            case "long":
                lines[289] += ",1";
                break;
            case "text":
                cells[4] = "abc";
                lines[289] = string.Join(",", cells);
                break;
            case "empty":
                lines = [];
                break;
            default:
                lines = ["", " ", ""];
                break;
        }

        File.WriteAllLines(path, lines);

        // Opening the file raises it: no batch was enumerated, so none has reached calibration (line 290 is in the fifth batch of 64).
        var streamed = Assert.ThrowsExactly<CliException>(() => ModelInputs.Stream(Cnn.Value, path, 512, 64));
        StringAssert.Contains(streamed.Message, "bad.csv");
        StringAssert.Contains(streamed.Message, expected);
        var reread = Assert.ThrowsExactly<CliException>(() => new RereadBatches(Cnn.Value, path, 512, 64, exact: false));
        Assert.AreEqual(streamed.Message, reread.Message);

        string output = Path.Combine(_dir, "out.onnx");
        foreach (var extra in new[] { Array.Empty<string>(), ["--min-output-sqnr", "40"] })
        {
            var (code, stdout, stderr) = CliTestFiles.Run(["quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", output, "--calibration-data", path, .. extra]);
            CliAssert.IsBadInput(code, stderr, $"bad.csv' {expected}", $"{fault} {string.Join(" ", extra)}");
            Assert.IsFalse(File.Exists(output), "nothing written");
            Assert.IsFalse(stdout.Contains("SQNR", StringComparison.Ordinal), "no trial ran: " + stdout);
        }
    }

    [TestMethod]
    public void AnUnchangedFileIsReadAgainIdenticallyOnEveryPass()
    {
        string path = WriteCsv("calib.csv", 5, SampleSize);
        var batches = new RereadBatches(Cnn.Value, path, maxSamples: 512, batchSize: 2, exact: false);
        Assert.AreEqual(5L, batches.TotalSamples);
        Assert.AreEqual(1, batches.Passes, "the check");
        var first = Floats(batches);
        var second = Floats(batches);
        Assert.AreEqual(3, batches.Passes, "opened again for each enumeration");
        CollectionAssert.AreEqual(Expected(5, SampleSize), first);
        CollectionAssert.AreEqual(first, second);
        CollectionAssert.AreEqual(new[] { 2, 2, 1 }, batches.Select(b => b.Single().Shape[0]).ToArray());
    }

    [TestMethod]
    [DataRow("other rows")]
    [DataRow("same size")]
    public void AFileChangedBetweenPassesIsRefusedNamingIt(string change)
    {
        string path = WriteCsv("calib.csv", 5, SampleSize);
        var batches = new RereadBatches(Cnn.Value, path, maxSamples: 512, batchSize: 2, exact: false);
        CollectionAssert.AreEqual(Expected(5, SampleSize), Floats(batches));
        var written = File.GetLastWriteTimeUtc(path);
        long length = new FileInfo(path).Length;
        if (change == "other rows")
        {
            WriteCsv("calib.csv", 6, SampleSize, seed: 1);
            Assert.AreNotEqual(length, new FileInfo(path).Length);
        }
        else
        {
            // one digit other, the length kept; the time of last write moved on (as a file system with coarse times may not show by itself)
            var text = File.ReadAllText(path).ToCharArray();
            int digit = Array.FindIndex(text, char.IsAsciiDigit);
            text[digit] = text[digit] == '1' ? '2' : '1';
            File.WriteAllText(path, new string(text));
            File.SetLastWriteTimeUtc(path, written.AddSeconds(2));
            Assert.AreEqual(length, new FileInfo(path).Length);
        }

        var e = Assert.ThrowsExactly<CliException>(() => Floats(batches));
        StringAssert.Contains(e.Message, $"data file '{path}' changed while it was being read");
    }

    [TestMethod]
    public void AFileChangedDuringAPassFailsThatPass()
    {
        string path = WriteCsv("calib.csv", 5, SampleSize);
        var batches = new RereadBatches(Cnn.Value, path, maxSamples: 512, batchSize: 2, exact: false);
        using var pass = batches.GetEnumerator();
        Assert.IsTrue(pass.MoveNext());
        CollectionAssert.AreEqual(Expected(2, SampleSize), pass.Current.Single().Floats);
        var written = File.GetLastWriteTimeUtc(path);
        WriteCsv("calib.csv", 3, SampleSize, seed: 2);
        File.SetLastWriteTimeUtc(path, written.AddSeconds(2));
        var e = Assert.ThrowsExactly<CliException>(() =>
        {
            while (pass.MoveNext())
            {
            }
        });
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "changed while it was being read");
    }
}
