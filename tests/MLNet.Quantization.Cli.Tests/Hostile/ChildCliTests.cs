namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>The child-process harness itself: real exit codes, streams and a peak-memory reading.</summary>
[TestClass]
public sealed class ChildCliTests
{
    [TestMethod]
    public void AMissingModelGivesExit2AndOneErrorLineFromARealProcess()
    {
        var run = ChildCli.Run("quantize", "--mode", "dynamic", "--model", "/nonexistent/m.onnx", "--output", Path.Combine(Path.GetTempPath(), "x.onnx"));
        HostileAssert.IsBadInput(run, "/nonexistent/m.onnx", 400, "missing model");
        Assert.IsGreaterThan(10, run.PeakRssMiB, "the harness read the child's peak memory: " + run);
    }
}
