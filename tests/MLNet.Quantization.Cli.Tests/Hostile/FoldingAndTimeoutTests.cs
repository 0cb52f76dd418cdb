using System.Diagnostics;
using MLNet.Quantization.Tests.Shared;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>
/// Models that ask for far more than their size through the real tool: constant-folding bombs are refused within
/// bounded memory naming the node, constant MatMuls over the work limit do not stall the tool, and <c>--timeout</c>
/// stops a Loop that runs forever inside ONNX Runtime (quantize and compare), exit 2, nothing left behind.
/// </summary>
[TestClass]
public sealed class FoldingAndTimeoutTests
{
    private string _dir = "";

    [TestInitialize]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("mlnetq-bounds-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private string Write(string name, byte[] model)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, model);
        return path;
    }

    /// <summary>Calibration data for the hostile models' x [N, 4].</summary>
    private string Data()
    {
        string path = Path.Combine(_dir, "x.npy");
        QuantizeCommandTests.WriteNpy(path, Enumerable.Range(0, 32).Select(i => (i % 9 - 4) * 0.3f).ToArray(), [8, 4]);
        return path;
    }

    private string Output => Path.Combine(_dir, "out.onnx");

    /// <summary>Runs the tool in the test folder and logs its exit, peak memory and time (the figures docs/reliability.md quotes).</summary>
    private ChildRun Run(TimeSpan deadline, params string[] args)
    {
        var watch = Stopwatch.StartNew();
        var run = ChildCli.Run(deadline, _dir, args);
        Console.WriteLine($"{Path.GetFileName(args.SkipWhile(a => a is not ("--model" or "--float")).Skip(1).FirstOrDefault())}: {run}, {watch.Elapsed.TotalSeconds:F1} s");
        return run;
    }

    private void AssertNothingWritten(string label)
    {
        Assert.IsFalse(File.Exists(Output), label + ": no output file");
        HostileAssert.NoTempFiles(_dir, label);
    }

    [TestMethod]
    public void TheDoublingBombIsRefusedNamingTheNodeWithinBoundedMemory()
    {
        // 20 doublings of a [4, 1024] constant would be 16 GiB; the issue's 1.07 GB variant took 2.1 GB of RSS
        var run = Run(TimeSpan.FromSeconds(60), "quantize", "--mode", "dynamic", "--model", Write("bomb.onnx", HostileModels.DoublingBomb(20)), "--output", Output);
        HostileAssert.IsBadInput(run, "node 'double_13' (Concat)", 800, "doubling bomb");
        StringAssert.Contains(run.Err, "--max-folded-bytes");
        AssertNothingWritten("doubling bomb");
    }

    [TestMethod]
    public void A16GiBConstantOfShapeIsRefusedWithoutAllocatingIt()
    {
        var run = Run(TimeSpan.FromSeconds(60), "quantize", "--mode", "dynamic", "--model", Write("huge.onnx", HostileModels.HugeConstantOfShape(65536, 65536)), "--output", Output);
        HostileAssert.IsBadInput(run, "would take 16 GiB", 800, "16 GiB ConstantOfShape");
        AssertNothingWritten("16 GiB ConstantOfShape");
    }

    [TestMethod]
    public void TheIssuesTwo6144ConstantMatMulsAreRefusedQuickly()
    {
        // 300-odd bytes; each 6144² input is 144 MiB, over the default limit, so nothing is multiplied
        var watch = Stopwatch.StartNew();
        var run = Run(TimeSpan.FromSeconds(60), "quantize", "--mode", "dynamic", "--model", Write("mm.onnx", HostileModels.ConstantMatMuls(6144)), "--output", Output);
        HostileAssert.IsBadInput(run, "(ConstantOfShape)", 800, "6144² MatMuls");
        Assert.IsLessThan(30.0, watch.Elapsed.TotalSeconds, run.ToString());
        AssertNothingWritten("6144² MatMuls");
    }

    [TestMethod]
    public void ConstantMatMulsOverTheWorkLimitStayInTheModelAndQuantizeFinishes()
    {
        // 2048³ multiply-adds each: not folded, so they stay in the graph (ORT computes them when it loads it)
        var watch = Stopwatch.StartNew();
        var run = Run(TimeSpan.FromSeconds(90), "quantize", "--model", Write("mm.onnx", HostileModels.ConstantMatMuls(2048)), "--output", Output, "--calibration-data", Data());
        Assert.AreEqual(0, run.Code, run.ToString());
        Assert.IsLessThan(30.0, watch.Elapsed.TotalSeconds, run.ToString());
        var graph = Graph.OnnxGraph.Load(Output);
        CollectionAssert.IsSubsetOf(new[] { "matmul_1", "matmul_2" }, graph.Nodes.Select(n => n.Name).ToList(), "left unfolded");
        HostileAssert.NoTempFiles(_dir, "constant MatMuls");
    }

    [TestMethod]
    public void TimeoutStopsALoopThatRunsForeverInCalibration()
    {
        var watch = Stopwatch.StartNew();
        var run = Run(TimeSpan.FromSeconds(60), "quantize", "--model", Write("loop.onnx", HostileModels.HugeLoop(1L << 62, constantState: false)), "--output", Output,
            "--calibration-data", Data(), "--timeout", "3");
        HostileAssert.IsBadInput(run, "--timeout: timed out after 3 s", 800, "2^62-trip Loop");
        Assert.IsLessThan(15.0, watch.Elapsed.TotalSeconds, run.ToString());
        AssertNothingWritten("2^62-trip Loop");
    }

    [TestMethod]
    public void TimeoutStopsCompareOnALoopThatRunsForever()
    {
        string model = Write("loop.onnx", HostileModels.HugeLoop(1L << 62, constantState: false));
        var (code, _, err) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", model, "--output", Output);
        Assert.AreEqual(0, code, "dynamic mode never runs the model: " + err);
        var watch = Stopwatch.StartNew();
        var run = Run(TimeSpan.FromSeconds(60), "compare", "--float", model, "--quantized", Output, "--data", Data(), "--timeout", "2");
        HostileAssert.IsBadInput(run, "--timeout: timed out after 2 s", 800, "compare on a 2^62-trip Loop");
        Assert.IsLessThan(15.0, watch.Elapsed.TotalSeconds, run.ToString());
        HostileAssert.NoTempFiles(_dir, "compare");
    }

    [TestMethod]
    public void MaxFoldedBytesRaisesTheLimitAndBadValuesExitTwo()
    {
        string model = Write("fill.onnx", HostileModels.FoldableConstant(512 * 1024)); // 2 MiB once folded
        var (code, _, err) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", model, "--output", Output, "--max-folded-bytes", "1M");
        CliAssert.IsBadInput(code, err, "node 'fill' (ConstantOfShape)", "1 MiB limit");
        (code, _, err) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", model, "--output", Output, "--max-folded-bytes", "4M");
        Assert.AreEqual(0, code, err);
        Assert.IsFalse(Graph.OnnxGraph.Load(Output).Nodes.Any(n => n.OpType == "ConstantOfShape"), "folded under the raised limit");

        foreach (var (option, value) in new[] { ("--max-folded-bytes", "lots"), ("--max-folded-bytes", "0"), ("--timeout", "0"), ("--timeout", "abc") })
        {
            (code, _, err) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", model, "--output", Path.Combine(_dir, "bad.onnx"), option, value);
            CliAssert.IsBadInput(code, err, option, $"{option} {value}");
        }
    }
}
