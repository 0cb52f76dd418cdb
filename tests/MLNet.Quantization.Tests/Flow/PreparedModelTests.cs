using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class PreparedModelTests
{
    private static PreparedModel PrepareCnn() =>
        QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));

    [TestMethod]
    public void PrepareFoldsBatchNormAndCreatesOneObserverPerGroup()
    {
        var prepared = PrepareCnn();
        Assert.IsFalse(prepared.Graph.Nodes.Any(n => n.OpType == "BatchNormalization"));
        Assert.IsTrue(prepared.NeedsCalibration);
        Assert.IsGreaterThan(0, prepared.ObserverCount);
        Assert.Contains("/MaxPool_1_output_0", prepared.ObservedActivations);
        Assert.DoesNotContain("input", prepared.ObservedActivations, "the float stem conv reads the input; nothing quantizes it");
        // the residual tensor feeds c3 and the Add: observed once, in one group
        Assert.AreEqual(prepared.ObservedActivations.Count, prepared.ObservedActivations.Distinct().Count());
    }

    [TestMethod]
    public void ConvertWithoutCalibrationIsRefused()
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => PrepareCnn().Convert());
        StringAssert.Contains(e.Message, "Calibrate");
    }

    [TestMethod]
    public void BadBatchesNameTheInput()
    {
        var prepared = PrepareCnn();
        var wrongName = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([[NamedTensor.FromFloats("pixels", new float[784], 1, 1, 28, 28)]]));
        StringAssert.Contains(wrongName.Message, "'pixels'");
        var wrongShape = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([[NamedTensor.FromFloats("input", new float[784], 1, 28, 28)]]));
        StringAssert.Contains(wrongShape.Message, "'input'");
        var wrongDim = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([[NamedTensor.FromFloats("input", new float[1 * 1 * 27 * 28], 1, 1, 27, 28)]]));
        StringAssert.Contains(wrongDim.Message, "dimension 2 = 28");
        var none = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([]));
        StringAssert.Contains(none.Message, "no batches");
        Assert.ThrowsExactly<ArgumentException>(() => NamedTensor.FromFloats("input", new float[10], 1, 1, 28, 28));
    }

    [TestMethod]
    public void CalibrationReportsProgressAndCanBeCancelled()
    {
        var prepared = PrepareCnn();
        var seen = new List<CalibrationProgress>();
        var result = prepared.Calibrate(FlowFixture.CalibrationBatches(128), new SyncProgress(seen.Add));
        Assert.AreEqual(4, result.Batches);
        Assert.AreEqual(512L, result.Samples);
        CollectionAssert.AreEqual(new[] { 128L, 256L, 384L, 512L }, seen.Select(p => p.Samples).ToArray());

        using var cts = new CancellationTokenSource();
        int produced = 0;
        IEnumerable<IReadOnlyList<NamedTensor>> Batches()
        {
            foreach (var b in FlowFixture.CalibrationBatches(64))
            {
                if (++produced == 2)
                    cts.Cancel();
                yield return b;
            }
        }

        Assert.ThrowsExactly<OperationCanceledException>(() => PrepareCnn().Calibrate(Batches(), cancellationToken: cts.Token));
        Assert.AreEqual(2, produced, "stopped at the batch after cancellation");
    }

    [TestMethod]
    public void MergedHalvesCalibrateLikeTheWhole()
    {
        // observers are mergeable: calibrating on all 512 images equals calibrating 256 + 256 in two calls
        var whole = PrepareCnn();
        whole.Calibrate(FlowFixture.CalibrationBatches(256));
        var split = PrepareCnn();
        var batches = FlowFixture.CalibrationBatches(256).ToList();
        split.Calibrate([batches[0]]);
        split.Calibrate([batches[1]]);
        CollectionAssert.AreEqual(whole.Convert().Model.ToBytes(), split.Convert().Model.ToBytes());
    }

    private sealed class SyncProgress(Action<CalibrationProgress> report) : IProgress<CalibrationProgress>
    {
        public void Report(CalibrationProgress value) => report(value);
    }
}
