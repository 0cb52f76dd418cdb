using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>
/// A seeded fuzzer over data files (issue #15, item 14): valid .npy, .npz, .csv and label files are mutated (bit flips,
/// truncation, inserted bytes, rewritten headers and header lengths, duplicated or renamed or CRC-broken zip entries,
/// hostile CSV cells and lines) and fed to <c>eval</c>. Every case must end in exit 0, or exit 2 with exactly one
/// <c>error:</c> line; never exit 1, an abort or a hang. Most cases run in process for speed, a few as a real process.
/// </summary>
[TestClass]
public sealed class DataFileFuzzTests
{
    private const int Seed = 20261202;
    private const int Cases = 100;
    private static readonly string[] HeaderVariants =
    [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), 'shape': (2, 1, 28, 28), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536, 65536), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967297, 1, 28, 28), }",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1, 28, 28), }",
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28)",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 28, 28), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 28, 28), }",
        "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1, 28, 14), }",
        "{'shape': (2, 1, 28, 28), 'descr': '<f4', 'fortran_order': False}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 1, 28, 28)}",
        "{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 1, 28, 28), }",
        "",
    ];

    private static readonly string[] CsvCells = ["inf", "-inf", "nan", "", " ", "1e999", "-0", "0x1F", "1,5", "∞", "\u001b[2J", "1e", "+", "NaN", "1\r", "\"1\""];

    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-data-fuzz-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    [TestMethod]
    public void MutatedDataFilesEndInExitZeroOrOneErrorLine()
    {
        var random = new Random(Seed);
        var failures = new List<string>();
        var outcomes = new int[3];
        for (int i = 0; i < Cases; i++)
        {
            var (data, labels, what) = MakeCase(random, i);
            string[] args = ["eval", "--model", CliTestFiles.Model("fmnist_cnn"), "--data", data, "--labels", labels];
            var clock = Stopwatch.StartNew();
            int code;
            string err;
            if (i % 20 == 0)
            {
                var run = ChildCli.Run(TimeSpan.FromSeconds(60), _dir, args);
                (code, err) = (run.TimedOut ? -1 : run.Code, run.Err);
            }
            else
            {
                (code, _, err) = CliTestFiles.Run(args);
            }

            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            bool ok = code == 0 || (code == 2 && lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal) && !lines[0].Contains("internal failure", StringComparison.Ordinal));
            if (!ok || clock.Elapsed > TimeSpan.FromSeconds(20))
                failures.Add($"case {i} ({what}): exit {code} in {clock.Elapsed.TotalSeconds:F1} s: {err.Trim()}");
            outcomes[Math.Clamp(code, 0, 2)]++;
        }

        Console.WriteLine($"data-file fuzz, seed {Seed}: {outcomes[0]} read, {outcomes[2]} bad input, {outcomes[1]} other");
        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.IsGreaterThan(10, outcomes[0], "some mutations are harmless and must still be read");
        Assert.IsGreaterThan(30, outcomes[2], "most mutations are bad input");
    }

    private (string Data, string Labels, string What) MakeCase(Random random, int index)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, index.ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
        var samples = DataFiles.Samples(2, index);
        byte[] npy = DataFiles.FloatNpy(samples, 2, 1, 28, 28);
        byte[] labels = DataFiles.Int64Npy([random.Next(10), random.Next(10)]);
        string labelsPath = Path.Combine(dir, "labels.npy");
        File.WriteAllBytes(labelsPath, labels);
        switch (random.Next(6))
        {
            case 0:
            {
                var (bytes, what) = MutateBytes(random, npy);
                return (DataFiles.Write(dir, "data.npy", bytes), labelsPath, "npy " + what);
            }

            case 1:
            {
                string header = HeaderVariants[random.Next(HeaderVariants.Length)];
                var payload = npy.AsSpan(128).ToArray();
                var bytes = DataFiles.Npy(header, random.Next(3) == 0 ? payload[..random.Next(payload.Length)] : payload, random.Next(2) == 0 ? 1 : 2);
                if (random.Next(4) == 0)
                    BitConverter.GetBytes((uint)random.Next()).CopyTo(bytes, 8);
                return (DataFiles.Write(dir, "data.npy", bytes), labelsPath, "npy header " + header);
            }

            case 2:
            {
                var (inner, what) = MutateBytes(random, npy);
                string name = random.Next(4) switch { 0 => "x/input.npy", 1 => "other.npy", _ => "input.npy" };
                var entries = new List<(string, byte[])> { (name, inner) };
                if (random.Next(3) == 0)
                    entries.Add(("y/input.npy", npy));
                string path = DataFiles.Npz(Path.Combine(dir, "data.npz"), random.Next(2) == 0 ? CompressionLevel.NoCompression : CompressionLevel.Optimal, [.. entries]);
                return (path, labelsPath, $"npz of {string.Join(", ", entries.Select(e => e.Item1))}, entry {what}");
            }

            case 3:
            {
                string path = DataFiles.Npz(Path.Combine(dir, "data.npz"), random.Next(2) == 0 ? CompressionLevel.NoCompression : CompressionLevel.Optimal, ("input.npy", npy));
                var (bytes, what) = MutateBytes(random, File.ReadAllBytes(path));
                File.WriteAllBytes(path, bytes);
                return (path, labelsPath, "npz bytes " + what);
            }

            case 4:
            {
                var lines = DataFiles.Csv(samples, DataFiles.SampleSize).Split('\n').ToList();
                string what = MutateCsv(random, lines);
                string path = Path.Combine(dir, "data.csv");
                File.WriteAllText(path, string.Join(random.Next(4) == 0 ? "\r\n" : "\n", lines), new UTF8Encoding(false));
                return (path, labelsPath, "csv " + what);
            }

            default:
            {
                var (bytes, what) = MutateBytes(random, labels);
                File.WriteAllBytes(labelsPath, bytes);
                return (DataFiles.Write(dir, "data.npy", npy), labelsPath, "labels " + what);
            }
        }
    }

    private static (byte[] Bytes, string What) MutateBytes(Random random, byte[] original)
    {
        var bytes = original.ToArray();
        switch (random.Next(4))
        {
            case 0:
                int flips = random.Next(1, 8);
                for (int f = 0; f < flips; f++)
                {
                    int at = random.Next(Math.Min(bytes.Length, random.Next(2) == 0 ? 140 : bytes.Length));
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }

                return (bytes, $"{flips} bit flip(s)");
            case 1:
                int keep = random.Next(bytes.Length);
                return (bytes[..keep], $"truncated to {keep}");
            case 2:
                int pos = random.Next(bytes.Length + 1);
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return ([.. bytes[..pos], .. extra, .. bytes[pos..]], $"{extra.Length} bytes inserted at {pos}");
            default:
                int start = random.Next(bytes.Length);
                int len = Math.Min(bytes.Length - start, random.Next(1, 16));
                random.NextBytes(bytes.AsSpan(start, len));
                return (bytes, $"{len} random bytes at {start}");
        }
    }

    private static string MutateCsv(Random random, List<string> lines)
    {
        int line = random.Next(2);
        var cells = lines[line].Split(',').ToList();
        switch (random.Next(5))
        {
            case 0:
                string cell = CsvCells[random.Next(CsvCells.Length)];
                cells[random.Next(cells.Count)] = cell;
                lines[line] = string.Join(",", cells);
                return $"cell '{cell}' on line {line + 1}";
            case 1:
                cells.RemoveAt(random.Next(cells.Count));
                lines[line] = string.Join(",", cells);
                return "a value removed";
            case 2:
                lines[line] += "," + lines[line];
                return "a line doubled";
            case 3:
                lines.Insert(random.Next(lines.Count), random.Next(2) == 0 ? "" : "   ");
                return "a blank line inserted";
            default:
                lines[line] = new string(' ', random.Next(30_000, 60_000)) + lines[line];
                return "a line padded with spaces";
        }
    }
}
