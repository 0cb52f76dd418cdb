using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// Peak memory of <c>mlnet-quantize quantize</c> in a child process (<c>/usr/bin/time</c>'s maximum resident set) does
/// not grow with the number of calibration samples: a model with 256 KB inputs calibrates on 128 and on 512 samples
/// (32 MB and 128 MB of .npy data), which are read one batch at a time.
/// </summary>
[TestClass]
public sealed class CalibrationMemoryCliTests
{
    private const int Width = 65536;

    [TestMethod]
    public void PeakMemoryDoesNotGrowWithTheCalibrationSamples()
    {
        string dir = Directory.CreateTempSubdirectory("mlnetq-calibration-memory-").FullName;
        try
        {
            string model = Path.Combine(dir, "wide.onnx");
            File.WriteAllBytes(model, WideMatMul());
            long small = PeakKilobytes(dir, model, 128);
            long large = PeakKilobytes(dir, model, 512);
            // reading the whole file would add 96 MB (and once more for the batch copies); streaming adds nothing per sample
            Assert.IsTrue(large <= small * 1.2 + 20_000, $"peak RSS {small / 1024} MB on 128 samples, {large / 1024} MB on 512");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void TheBudgetLowersTheBatchAndSaysSo()
    {
        string dir = Directory.CreateTempSubdirectory("mlnetq-calibration-memory-").FullName;
        try
        {
            string model = Path.Combine(dir, "wide.onnx");
            File.WriteAllBytes(model, WideMatMul());
            string data = Path.Combine(dir, "data.npy");
            WriteNpy(data, 64);
            var (code, output, error) = CliTestFiles.Run("quantize", "--model", model, "--output", Path.Combine(dir, "q.onnx"), "--calibration-data", data, "--calibration-memory", "4");
            Assert.AreEqual(0, code, error);
            // 4 MB over the 256 KB input (and the 16-byte output, if observed) per sample: 16 or 15 samples per run
            var note = System.Text.RegularExpressions.Regex.Match(output, @"note: calibration runs (\d+) sample\(s\) per run instead of --batch-size 64");
            Assert.IsTrue(note.Success, output);
            int batch = int.Parse(note.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.IsTrue(batch is 15 or 16, output);
            StringAssert.Contains(output, $"up to {batch} per run");
            var (badCode, _, badError) = CliTestFiles.Run("quantize", "--model", model, "--output", Path.Combine(dir, "q.onnx"), "--calibration-data", data, "--calibration-memory", "0");
            Assert.AreEqual(2, badCode, "bad input");
            StringAssert.Contains(badError, "--calibration-memory must be a positive number of MB");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static long PeakKilobytes(string dir, string model, int samples)
    {
        string data = Path.Combine(dir, $"data{samples}.npy");
        WriteNpy(data, samples);
        var start = new ProcessStartInfo("/usr/bin/time")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            ArgumentList = { "-f", "peak-kb %M", Path.Combine(AppContext.BaseDirectory, "mlnet-quantize"), "quantize", "--model", model, "--output", Path.Combine(dir, $"q{samples}.onnx"), "--calibration-data", data, "--calibration-samples", samples.ToString(CultureInfo.InvariantCulture) },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, stderr + stdout.Result);
        string line = stderr.Split('\n').Last(l => l.StartsWith("peak-kb ", StringComparison.Ordinal));
        File.Delete(data);
        return long.Parse(line["peak-kb ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>A float32 .npy of [samples, 65536], 256 KB per sample.</summary>
    private static void WriteNpy(string path, int samples)
    {
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({samples}, {Width}), }}";
        header = header.PadRight(header.Length + 63 - (10 + header.Length) % 64) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, (byte)(header.Length >> 8)]);
        file.Write(System.Text.Encoding.ASCII.GetBytes(header));
        var rng = new Random(5);
        var row = new byte[Width * 4];
        for (int i = 0; i < samples; i++)
        {
            var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(row.AsSpan());
            for (int j = 0; j < floats.Length; j += 97)
                floats[j] = (float)(rng.NextDouble() * 2 - 1);
            file.Write(row);
        }
    }

    /// <summary>y [N, 4] = x [N, 65536] · W.</summary>
    private static byte[] WideMatMul()
    {
        var shapeX = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "N" }, new TensorShapeProto.Types.Dimension { DimValue = Width } } };
        var shapeY = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "N" }, new TensorShapeProto.Types.Dimension { DimValue = 4 } } };
        var weights = new float[Width * 4];
        var rng = new Random(2);
        for (int i = 0; i < weights.Length; i++)
            weights[i] = (float)(rng.NextDouble() - 0.5);
        var raw = new byte[weights.Length * 4];
        Buffer.BlockCopy(weights, 0, raw, 0, raw.Length);
        var graph = new GraphProto
        {
            Name = "wide",
            Input = { new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shapeX } } } },
            Output = { new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shapeY } } } },
            Initializer = { new TensorProto { Name = "W", DataType = 1, Dims = { Width, 4 }, RawData = ByteString.CopyFrom(raw) } },
            Node = { new NodeProto { Name = "mm", OpType = "MatMul", Input = { "x", "W" }, Output = { "y" } } },
        };
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph, OpsetImport = { new OperatorSetIdProto { Version = 13 } } };
        return model.ToByteArray();
    }
}
