using System.IO.Compression;
using System.Text;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>
/// Hostile calibration data through the real process (issue #15, items 6, 7, 14): .npz bombs read only what the model
/// needs within bounded memory; overflowing shapes and headers, ambiguous archives, duplicated header keys, CRC
/// mismatches and trailing bytes are exit 2 with one <c>error:</c> line naming the file and entries.
/// </summary>
[TestClass]
public sealed class DataFileHostileTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-hostile-data-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private ChildRun Quantize(string data, params string[] extra) =>
        ChildCli.Run(TimeSpan.FromMinutes(1), _dir, ["quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(_dir, "out.onnx"),
            "--calibration-data", data, "--activation-observer", "minmax", .. extra]);

    private void AssertBadInput(ChildRun run, string expect, string label, double maxPeakMiB = 600)
    {
        HostileAssert.IsBadInput(run, expect, maxPeakMiB, label);
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "out.onnx")), label + ": no output after a failure");
        HostileAssert.NoTempFiles(_dir, label);
    }

    private string Input(int samples, int seed = 1) => DataFiles.Write(_dir, $"input{seed}.npy", DataFiles.FloatNpy(DataFiles.Samples(samples, seed), samples, 1, 28, 28));

    [TestMethod]
    public void AnUnusedHugeNpzEntryIsNeverDecompressed()
    {
        // 400 MB of zeros deflate to ~400 KB; reading it whole cost 5.9 GB before. Only 'input' is opened now.
        string npz = Path.Combine(_dir, "bomb.npz");
        using (var zip = ZipFile.Open(npz, ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("input.npy").Open())
                s.Write(DataFiles.FloatNpy(DataFiles.Samples(4, 1), 4, 1, 28, 28));
            DataFiles.AddZeros(zip, "unused.npy", 100_000_000);
        }

        Assert.IsLessThan(1 << 20, new FileInfo(npz).Length);
        var run = Quantize(npz);
        Assert.AreEqual(0, run.Code, run.ToString());
        Assert.IsLessThan(600, run.PeakRssMiB, run.ToString());
    }

    [TestMethod]
    public void AHugeNeededNpzEntryKeepsOnlyTheSamplesUsed()
    {
        // 'input' holds 127,551 zero samples (400 MB); --calibration-samples 8 keeps 8, the rest is read through for the CRC.
        string npz = Path.Combine(_dir, "big.npz");
        using (var zip = ZipFile.Open(npz, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("input.npy", CompressionLevel.SmallestSize).Open();
            s.Write(DataFiles.Npy(DataFiles.Dict("<f4", 127_551, 1, 28, 28), []));
            var first = DataFiles.Samples(8, 2);
            var bytes = new byte[first.Length * 4];
            Buffer.BlockCopy(first, 0, bytes, 0, bytes.Length);
            s.Write(bytes);
            var zeros = new byte[DataFiles.SampleSize * 4];
            for (int i = 8; i < 127_551; i++)
                s.Write(zeros);
        }

        var run = Quantize(npz, "--calibration-samples", "8");
        Assert.AreEqual(0, run.Code, run.ToString());
        Assert.IsLessThan(600, run.PeakRssMiB, run.ToString());
    }

    [TestMethod]
    public void AnEntryDeclaringMoreThanTheArchiveHoldsIsRefusedBeforeAllocating()
    {
        // The header says 2^30 float32 (4 GiB); the zip entry holds a few bytes.
        byte[] lying = DataFiles.Npy(DataFiles.Dict("<f4", 1L << 30, 1, 1, 1), new byte[16]);
        string npz = DataFiles.Npz(Path.Combine(_dir, "lying.npz"), CompressionLevel.Optimal, ("input.npy", lying));
        AssertBadInput(Quantize(npz), "lying.npz:input.npy' is truncated", "npz entry shorter than its header", 400);

        string npy = DataFiles.Write(_dir, "lying.npy", lying);
        AssertBadInput(Quantize(npy), "lying.npy' is truncated", "npy shorter than its header", 400);
    }

    [TestMethod]
    public void OverflowingShapesAndHeaderLengthsAreBadInputNamingTheFile()
    {
        var cases = new (string Name, byte[] Bytes, string Expect)[]
        {
            // 65536^4 = 2^64 wraps to 0 in 64-bit arithmetic.
            ("wrap.npy", DataFiles.Npy(DataFiles.Dict("<f4", 65536, 65536, 65536, 65536), []), "too large"),
            ("wrap8.npy", DataFiles.Npy(DataFiles.Dict("<f8", 3037000500, 3037000500), []), "wrap8.npy"),
            ("bigdim.npy", DataFiles.Npy(DataFiles.Dict("<f4", 99999999999999999), []), "invalid shape dimension"),
            ("neg.npy", DataFiles.Npy(DataFiles.Dict("<f4", 2, -784), []), "neg.npy"),
            ("header.npy", [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0xFF, 0xFF, 0xFF, 0xFF, (byte)'{'], "implausible .npy header"),
        };
        foreach (var (name, bytes, expect) in cases)
            AssertBadInput(Quantize(DataFiles.Write(_dir, name, bytes)), expect, name, 400);
    }

    [TestMethod]
    public void AnNpzWithTwoEntriesForOneArrayIsAmbiguous()
    {
        var a = DataFiles.FloatNpy(DataFiles.Samples(2, 1), 2, 1, 28, 28);
        var b = DataFiles.FloatNpy(DataFiles.Samples(2, 2), 2, 1, 28, 28);
        string npz = DataFiles.Npz(Path.Combine(_dir, "twice.npz"), CompressionLevel.Optimal, ("a/input.npy", a), ("b/input.npy", b));
        var run = Quantize(npz);
        AssertBadInput(run, "twice.npz' is ambiguous", "duplicate base name");
        StringAssert.Contains(run.Err, "'a/input.npy'");
        StringAssert.Contains(run.Err, "'b/input.npy'");
    }

    [TestMethod]
    public void NpyHeadersWithDuplicatedOrUnknownKeysAreRefused()
    {
        var payload = new byte[2 * DataFiles.SampleSize * 4];
        var cases = new (string Name, string Dict, string Expect)[]
        {
            ("twoshapes.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 28, 28), 'shape': (2, 1, 28, 28), }", "key 'shape' appears twice"),
            ("twodescr.npy", "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), }", "key 'descr' appears twice"),
            ("extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), 'strides': (4,), }", "unknown key 'strides'"),
            ("noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", "no 'shape'"),
            ("garbage.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), } junk", "after the closing"),
        };
        foreach (var (name, dict, expect) in cases)
        {
            var run = Quantize(DataFiles.Write(_dir, name, DataFiles.Npy(dict, payload)));
            AssertBadInput(run, expect, name);
            StringAssert.Contains(run.Err, name);
        }
    }

    [TestMethod]
    public void AZipEntryWhoseCrcDoesNotMatchIsRefused()
    {
        var npy = DataFiles.FloatNpy(DataFiles.Samples(2, 1), 2, 1, 28, 28);
        string npz = DataFiles.Npz(Path.Combine(_dir, "crc.npz"), CompressionLevel.NoCompression, ("input.npy", npy));
        var bytes = File.ReadAllBytes(npz);
        int at = bytes.AsSpan().IndexOf(npy.AsSpan(200, 64));
        Assert.IsGreaterThan(0, at);
        bytes[at] ^= 0x40;
        File.WriteAllBytes(npz, bytes);
        AssertBadInput(Quantize(npz), "crc.npz:input.npy' fails its CRC-32 check", "flipped bit in a stored entry");
    }

    [TestMethod]
    public void TrailingBytesAfterTheArrayAreRefused()
    {
        var npy = DataFiles.FloatNpy(DataFiles.Samples(2, 1), 2, 1, 28, 28);
        byte[] padded = [.. npy, 1, 2, 3];
        AssertBadInput(Quantize(DataFiles.Write(_dir, "trailing.npy", padded)), "trailing.npy' has 3 trailing byte(s)", ".npy");
        string npz = DataFiles.Npz(Path.Combine(_dir, "trailing.npz"), CompressionLevel.Optimal, ("input.npy", padded));
        AssertBadInput(Quantize(npz), "trailing.npz:input.npy' has 3 trailing byte(s)", ".npz entry");
    }

    [TestMethod]
    public void ATruncatedOrCorruptArchiveIsBadInput()
    {
        string npz = DataFiles.Npz(Path.Combine(_dir, "cut.npz"), CompressionLevel.Optimal, ("input.npy", DataFiles.FloatNpy(DataFiles.Samples(2, 1), 2, 1, 28, 28)));
        var bytes = File.ReadAllBytes(npz);
        File.WriteAllBytes(npz, bytes[..(bytes.Length / 2)]);
        AssertBadInput(Quantize(npz), "cut.npz", "truncated archive");
    }

    [TestMethod]
    public void ControlCharactersInNamesAreEscapedInTheOneErrorLine()
    {
        string evil = Path.Combine(_dir, "m\u001b[2J\u2028x\ny.onnx");
        var run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "quantize", "--mode", "dynamic", "--model", evil, "--output", Path.Combine(_dir, "out.onnx"));
        AssertBadInput(run, "m\\x1b[2J\\u2028x\\ny.onnx", "model path with ESC, U+2028 and a newline");
        Assert.IsFalse(run.Err.Contains('\u001b') || run.Err.Contains('\u2028'), run.Err);

        // An entry name in an .npz, listed when the model's input is missing.
        string npz = DataFiles.Npz(Path.Combine(_dir, "names.npz"), CompressionLevel.Optimal, ("\u001b]0;pwned\u0007\u2029.npy", DataFiles.FloatNpy([1f], 1)));
        run = Quantize(npz);
        AssertBadInput(run, "\\x1b]0;pwned\\x07\\u2029", "entry name with OSC escape");
        Assert.IsFalse(run.Err.Contains('\u001b') || run.Err.Contains('\u0007') || run.Err.Contains('\u2029'), run.Err);

        // A model input named ESC, U+2028, 'x': the same five UTF-8 bytes as "input", swapped in for every protobuf
        // string of exactly that value, so the model stays well formed. The .npz names the input 'input'.
        byte[] model = File.ReadAllBytes(CliTestFiles.Model("fmnist_cnn"));
        byte[] from = [0x05, .. Encoding.UTF8.GetBytes("input")];
        byte[] to = [0x05, .. Encoding.UTF8.GetBytes("\u001b\u2028x")];
        int replaced = 0;
        for (int at = model.AsSpan().IndexOf(from); at >= 0; at = model.AsSpan().IndexOf(from))
        {
            to.CopyTo(model, at);
            replaced++;
        }

        Assert.IsGreaterThan(1, replaced, "the graph input and the node reading it");
        string evilModel = DataFiles.Write(_dir, "evil-input.onnx", model);
        string data = DataFiles.Npz(Path.Combine(_dir, "plain.npz"), CompressionLevel.Optimal, ("input.npy", DataFiles.FloatNpy(DataFiles.Samples(2, 1), 2, 1, 28, 28)));
        run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "quantize", "--model", evilModel, "--output", Path.Combine(_dir, "out.onnx"), "--calibration-data", data);
        AssertBadInput(run, "model input '\\x1b\\u2028x'", "model input name with ESC and U+2028");
        Assert.IsFalse(run.Err.Contains('\u001b') || run.Err.Contains('\u2028'), run.Err);
    }

    [TestMethod]
    public void BenchSizesThatOverflowAreBadInputNamingTheOption()
    {
        string model = CliTestFiles.Model("fmnist_cnn");
        var run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "bench", "--model", model, "--batch", "3000000", "--iterations", "5");
        AssertBadInput(run, "--batch 3000000", "bench --batch 3000000", 400);
        run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "bench", "--model", model, "--batch", "1", "--input-shape", "input=1x65536x65536", "--iterations", "5");
        AssertBadInput(run, "--input-shape: 'input=1x65536x65536' has more than", "bench with a 2^32-value input shape", 400);
        run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "bench", "--model", model, "--batch", "99999999999", "--iterations", "5");
        AssertBadInput(run, "--batch", "bench --batch beyond int", 400);
    }

    [TestMethod]
    public void JsonAndPlotNamingAFolderAreBadInput()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "afolder")).FullName;
        string model = CliTestFiles.Model("fmnist_cnn");
        var run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "bench", "--model", model, "--batch", "1", "--iterations", "5", "--json", folder);
        AssertBadInput(run, "--json", "bench --json folder", 400);
        string data = Input(2);
        run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "compare", "--float", model, "--quantized", model, "--data", data, "--plot", folder);
        AssertBadInput(run, "--plot", "compare --plot folder", 400);
    }
}
