using System.Diagnostics;
using MLNet.Quantization.TestSupport;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>
/// Huge and strange graphs through the real tool in its own process: a chain of a million nodes (34 MB) is refused at
/// load by the node limit, in bounded memory and time, instead of taking 5–6 GB in ONNX Runtime and dying of
/// <c>bad_alloc</c> or SIGABRT; <c>--max-nodes</c> moves the limit; subgraphs nested 10,000 deep and models that are
/// already quantized are exit 2 with one error line.
/// </summary>
[TestClass]
public sealed class GraphHostileTests
{
    private string _dir = null!;

    [TestInitialize]
    public void Init()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-graph-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private string Chain(int nodes, string opType = "Relu")
    {
        string path = Path.Combine(_dir, $"chain{nodes}.onnx");
        using (var file = File.Create(path))
            OnnxWire.WriteChain(file, nodes, opType);
        return path;
    }

    [TestMethod]
    public void AMillionNodeChainIsRefusedAtLoadInBoundedMemoryAndTime()
    {
        string model = Chain(1_000_000);
        Assert.IsGreaterThan(30_000_000L, new FileInfo(model).Length);
        var clock = Stopwatch.StartNew();
        var run = ChildCli.Run(TimeSpan.FromMinutes(2), _dir, "quantize", "--model", model, "--output", Path.Combine(_dir, "out.onnx"), "--mode", "dynamic");
        clock.Stop();
        HostileAssert.IsBadInput(run, "1,000,000 nodes", maxPeakMiB: 1536, "1M-node chain");
        StringAssert.Contains(run.Err, "--max-nodes");
        Assert.IsLessThan(60.0, clock.Elapsed.TotalSeconds, "1M-node chain: " + run);
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "out.onnx")));
        HostileAssert.NoTempFiles(_dir, "1M-node chain");
        Console.WriteLine($"1M-node chain ({new FileInfo(model).Length:N0} bytes): {run}, {clock.Elapsed.TotalSeconds:F1} s");
    }

    [TestMethod]
    public void MaxNodesMovesTheLimitBothWays()
    {
        string model = Chain(1_000, "Identity");
        string output = Path.Combine(_dir, "out.onnx");
        var (code, _, err) = CliTestFiles.Run("quantize", "--model", model, "--output", output, "--mode", "dynamic", "--max-nodes", "999");
        CliAssert.IsBadInput(code, err, "1,000 nodes", "--max-nodes 999");
        StringAssert.Contains(err, "limit of 999");
        Assert.IsFalse(File.Exists(output));

        (code, _, err) = CliTestFiles.Run("quantize", "--model", model, "--output", output, "--mode", "dynamic", "--max-nodes", "1000");
        Assert.AreEqual(0, code, err);
        Assert.IsTrue(File.Exists(output));

        (code, _, err) = CliTestFiles.Run("quantize", "--model", model, "--output", output, "--mode", "dynamic", "--max-nodes", "0");
        CliAssert.IsBadInput(code, err, "--max-nodes", "--max-nodes 0");
    }

    [TestMethod]
    public void SubgraphsNestedTenThousandDeepAreBadInputNotAStackOverflow()
    {
        string model = Path.Combine(_dir, "deep.onnx");
        File.WriteAllBytes(model, OnnxWire.NestedIfs(10_000));
        var run = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "quantize", "--model", model, "--output", Path.Combine(_dir, "out.onnx"), "--mode", "dynamic");
        HostileAssert.IsBadInput(run, "nesting", maxPeakMiB: 600, "10k-deep Ifs");
        StringAssert.Contains(run.Err, "deep.onnx");
        var inspect = ChildCli.Run(TimeSpan.FromMinutes(1), _dir, "inspect", "--model", model);
        HostileAssert.IsBadInput(inspect, "nesting", maxPeakMiB: 600, "10k-deep Ifs, inspect");
    }

    [TestMethod]
    public void AnAlreadyQuantizedModelIsRefusedNamingWhatItHolds()
    {
        string once = Path.Combine(_dir, "rowtf.int8.onnx");
        var (code, _, err) = CliTestFiles.Run("quantize", "--model", CliTestFiles.Model("fmnist_rowtf"), "--output", once, "--mode", "dynamic");
        Assert.AreEqual(0, code, err);
        (code, _, err) = CliTestFiles.Run("quantize", "--model", once, "--output", Path.Combine(_dir, "twice.onnx"), "--mode", "dynamic");
        CliAssert.IsBadInput(code, err, "is already quantized", "quantized twice");
        StringAssert.Contains(err, "DequantizeLinear");
        StringAssert.Contains(err, "give the float model");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "twice.onnx")));
    }
}
