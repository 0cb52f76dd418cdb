using Microsoft.ML;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.MLNetIntegration;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>Progress users see: every stage reports its steps, and calibration carries its total, fraction and ETA.</summary>
[TestClass]
public sealed class ProgressTests
{
    /// <summary>Records synchronously (System.Progress posts to the thread pool, which would race the asserts).</summary>
    private sealed class Recorder<T> : IProgress<T>
    {
        public List<T> Reports { get; } = [];

        public void Report(T value)
        {
            lock (Reports)
                Reports.Add(value);
        }
    }

    [TestMethod]
    public void FractionAndEtaFollowFromTheRateSoFar()
    {
        var p = new CalibrationProgress(2, 128, TimeSpan.FromSeconds(4)) { TotalSamples = 512 };
        Assert.AreEqual(0.25, p.Fraction!.Value, 1e-12);
        Assert.AreEqual(TimeSpan.FromSeconds(12), p.EstimatedRemaining); // 4 s per 128 samples, 384 to go
        Assert.IsNull(new CalibrationProgress(2, 128, TimeSpan.FromSeconds(4)).Fraction);
        Assert.IsNull(new CalibrationProgress(2, 128, TimeSpan.FromSeconds(4)).EstimatedRemaining);
        Assert.IsNull(new CalibrationProgress(0, 0, TimeSpan.Zero) { TotalSamples = 10 }.EstimatedRemaining);
        Assert.AreEqual(1.0, new CalibrationProgress(9, 600, TimeSpan.FromSeconds(1)) { TotalSamples = 512 }.Fraction);
    }

    [TestMethod]
    public void PrepareCalibrateAndConvertEachReportTheirStepsInOrder()
    {
        var stages = new Recorder<QuantizationProgress>();
        var batches = new Recorder<CalibrationProgress>();
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_mobile")),
            new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { Progress = stages });
        var data = FlowFixture.CalibrationBatches(128).Take(3).ToList();
        prepared.Calibrate(data, batches, totalSamples: 384);
        prepared.Convert();

        var order = stages.Reports.Select(r => r.Stage).ToList();
        CollectionAssert.AreEqual(new[] { QuantizationStage.Prepare, QuantizationStage.Calibrate, QuantizationStage.Convert }, order.Distinct().ToArray());
        CollectionAssert.AreEqual(order.OrderBy(s => s).ToList(), order, "stages out of order");
        var steps = stages.Reports.Select(r => r.Step).ToList();
        foreach (var expected in new[] { "folding constants", "folding BatchNorm", "annotating", "observing weights", "calibrating", "computing quantization parameters", "writing QuantizeLinear" })
            Assert.IsTrue(steps.Any(s => s.StartsWith(expected, StringComparison.Ordinal)), $"no step '{expected}' in: {string.Join(" | ", steps)}");
        Assert.IsTrue(stages.Reports.Where(r => r.Stage == QuantizationStage.Prepare).Select(r => r.Elapsed).SequenceEqual(
            stages.Reports.Where(r => r.Stage == QuantizationStage.Prepare).Select(r => r.Elapsed).Order()), "elapsed times within a stage must not go back");

        Assert.HasCount(3, batches.Reports);
        Assert.AreEqual(384, batches.Reports[0].TotalSamples);
        Assert.AreEqual(1.0 / 3, batches.Reports[0].Fraction!.Value, 1e-12);
        Assert.IsNotNull(batches.Reports[0].EstimatedRemaining);
        Assert.AreEqual(1.0, batches.Reports[^1].Fraction);
        Assert.AreEqual(TimeSpan.Zero, batches.Reports[^1].EstimatedRemaining);
    }

    [TestMethod]
    public void ACollectionOfBatchesGivesAnEstimatedTotalAndAStreamNone()
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        var listed = new Recorder<CalibrationProgress>();
        prepared.Calibrate(FlowFixture.CalibrationBatches(64).Take(4).ToList(), listed);
        Assert.IsTrue(listed.Reports.All(r => r.TotalSamples == 256), string.Join(", ", listed.Reports.Select(r => r.TotalSamples)));

        var streamed = new Recorder<CalibrationProgress>();
        prepared.Calibrate(FlowFixture.CalibrationBatches(64).Take(2), streamed);
        Assert.IsTrue(streamed.Reports.All(r => r.TotalSamples is null && r.Fraction is null && r.EstimatedRemaining is null));
    }

    [TestMethod]
    public void MlNetFitReportsStagesAndACountedTotal()
    {
        var ml = new MLContext(seed: 0);
        var stages = new Recorder<QuantizationProgress>();
        var batches = new Recorder<CalibrationProgress>();
        var view = FashionMnistRows.CalibrationView(ml);
        var pipeline = FashionMnistRows.Normalize(ml).Append(ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            MaxCalibrationRows = 200,
            Progress = batches,
            StageProgress = stages,
        }));
        using var model = (IDisposable)pipeline.Fit(view);

        Assert.IsTrue(stages.Reports.Any(r => r.Stage == QuantizationStage.Prepare));
        Assert.IsTrue(stages.Reports.Any(r => r.Stage == QuantizationStage.Convert));
        Assert.IsNotEmpty(batches.Reports);
        Assert.AreEqual(200, batches.Reports[^1].Samples);
        Assert.AreEqual(200, batches.Reports[^1].TotalSamples, "a list-backed view knows its row count; the total is min(MaxCalibrationRows, rows)");
        Assert.AreEqual(1.0, batches.Reports[^1].Fraction);
    }
}
