using System.Diagnostics;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Shared;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Cancellation reaches inside a running ONNX Runtime inference (RunOptions.Terminate): a Loop of 2^62 iterations in
/// calibration stops within seconds of the token, with an <see cref="OperationCanceledException"/>, and leaves the
/// statistics as they were. A token cancelled before prepare stops it too.
/// </summary>
[TestClass]
public sealed class CalibrationTimeoutTests
{
    private static PreparedModel PrepareLoop() =>
        QuantizationFlow.Prepare(OnnxModel.Load(HostileModels.HugeLoop(1L << 62, constantState: false), "loop.onnx"), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));

    private static IReadOnlyList<NamedTensor>[] Batch() => [[NamedTensor.FromFloats("x", [0.5f, -1f, 2f, 0.25f], 1, 4)]];

    [TestMethod]
    public void CancellingStopsALoopThatRunsForeverInsideOnnxRuntime()
    {
        var prepared = PrepareLoop();
        Assert.IsTrue(prepared.ObservedActivations.Contains("z"), "precondition: calibration must run the Loop");
        using var source = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        var ex = Assert.Throws<OperationCanceledException>(() => prepared.Calibrate(Batch(), cancellationToken: source.Token));
        Assert.IsLessThan(10.0, watch.Elapsed.TotalSeconds, "ORT stopped mid-run: " + ex.Message);
        StringAssert.Contains(ex.Message, "calibrate it");
        Assert.ThrowsExactly<InvalidOperationException>(() => prepared.Convert(), "nothing was recorded from the cancelled call");
    }

    [TestMethod]
    public void ACancelledTokenStopsPrepare()
    {
        using var source = new CancellationTokenSource();
        source.Cancel();
        Assert.Throws<OperationCanceledException>(() => QuantizationFlow.Prepare(
            OnnxModel.Load(HostileModels.FoldableConstant(16), "fold.onnx"), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), null, source.Token));
    }
}
