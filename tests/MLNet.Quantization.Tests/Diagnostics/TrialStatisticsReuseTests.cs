using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

/// <summary>
/// Float-fallback trials take the first calibration's statistics for every unchanged group and observe only the new
/// ones (a shared group whose members changed among them); the trial equals a freshly calibrated one byte for byte.
/// The default config's activations use histogram observers.
/// </summary>
[TestClass]
public sealed class TrialStatisticsReuseTests
{
    private static X86Quantizer Quantizer(IEnumerable<string> inFloat)
    {
        var q = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
        foreach (var name in inFloat)
            q.SetNodeName(name, null);
        return q;
    }

    private sealed class CountingBatches(IReadOnlyList<IReadOnlyList<NamedTensor>> batches) : IEnumerable<IReadOnlyList<NamedTensor>>
    {
        public int Enumerations { get; private set; }

        public IEnumerator<IReadOnlyList<NamedTensor>> GetEnumerator()
        {
            Enumerations++;
            return batches.GetEnumerator();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [TestMethod]
    public void EachNodeInFloatReusesStatisticsAndGivesTheBytesOfAFreshCalibration()
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_mobile"));
        var batches = Flow.FlowFixture.CalibrationBatches().ToList();
        var first = QuantizationFlow.Prepare(model, Quantizer([]));
        first.Calibrate(batches);
        var held = first.HoldStatistics()!;
        Assert.IsNotNull(held);
        Assert.IsTrue(first.Groups.Any(g => g.Kind == QuantGroupKind.Activation && g.Observer is MLNet.Quantization.Observers.HistogramObserver));

        int skipped = 0, partial = 0;
        foreach (var node in first.QuantizedNodes)
        {
            var counting = new CountingBatches(batches);
            var reused = QuantizationFlow.Prepare(model, Quantizer([node.Name]));
            var outcome = reused.CalibrateReusing(held, counting, default);
            var fresh = QuantizationFlow.Prepare(model, Quantizer([node.Name]));
            fresh.Calibrate(batches);
            CollectionAssert.AreEqual(fresh.Convert().Model.ToBytes(), reused.Convert().Model.ToBytes(), $"'{node.Name}' in float");
            Assert.AreEqual(outcome.Observed > 0 ? 1 : 0, counting.Enumerations, "calibration runs only for new groups");
            if (outcome.Observed == 0)
                skipped++;
            else
                partial++;
        }

        Assert.IsGreaterThan(0, skipped, "some trial needed no calibration");
        Assert.IsGreaterThan(0, partial, "some trial had a group whose members changed, observed anew");
    }

    [TestMethod]
    public void SearchCalibratesInFullOnceAndTrialsMatchFreshConversions()
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_mobile"));
        var batches = Flow.FlowFixture.CalibrationBatches().ToList();
        var counting = new CountingBatches(batches);
        var search = new FloatFallbackSearch(() => Quantizer([]), null, model, counting, q => (0, q.Report.OutputSqnrDb ?? double.NaN), default);
        var (_, layers) = search.Start(new HashSet<string>(["Conv", "Gemm", "MatMul"], StringComparer.Ordinal));
        Assert.AreEqual(1, counting.Enumerations);
        var names = layers.Take(3).Select(l => l.Name).ToList();
        var trial = search.Trial(names);
        Assert.AreEqual(counting.Enumerations - 1, search.CalibrationRuns - 1, "enumerations are calibration runs");
        var fresh = QuantizationFlow.Prepare(model, Quantizer(names));
        fresh.Calibrate(batches);
        CollectionAssert.AreEqual(fresh.ConvertWithoutOrtCensus().Model.ToBytes(), trial.Model.Model.ToBytes());
    }
}
