using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// The check after convert that keeps a collapse from passing silently: float against int8 on kept calibration
/// samples, and every quantized weight's SQNR, with warnings below the thresholds.
/// </summary>
[TestClass]
public sealed class QualityCheckTests
{
    private static QuantizedModel Quantize(string model, PrepareOptions options, bool dynamic = false)
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)),
            new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic)), options);
        if (prepared.NeedsCalibration)
            prepared.Calibrate(FlowFixture.CalibrationBatches(16).Take(8));
        return prepared.Convert();
    }

    [TestMethod]
    public void AHealthyModelReportsItsOutputSqnrAndNoWarning()
    {
        var report = Quantize("fmnist_cnn", new PrepareOptions()).Report;
        Assert.IsNotNull(report.OutputSqnrDb);
        Assert.IsGreaterThan(30.0, report.OutputSqnrDb.Value, report.ToString());
        Assert.AreEqual(32, report.CheckedSamples, "two whole batches of 16 make the 32 samples");
        Assert.IsEmpty(report.Warnings, report.ToString());
        Assert.HasCount(5, report.WorstActivations);
        CollectionAssert.AreEqual(report.WorstActivations.Select(a => a.SqnrDb).Order().ToList(), report.WorstActivations.Select(a => a.SqnrDb).ToList());
        StringAssert.Contains(report.ToString(), "output SQNR: ");
    }

    [TestMethod]
    public void TheCheckedFigureIsTheNumericSuitesOnTheSameSamples()
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_mobile")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        var batches = FlowFixture.CalibrationBatches(32).Take(4).ToList();
        prepared.Calibrate(batches);
        var quantized = prepared.Convert();
        var suite = MLNet.Quantization.Diagnostics.NumericSuite.Compare(prepared, quantized, batches.Take(1));
        Assert.AreEqual(suite.OutputSqnrDb, quantized.Report.OutputSqnrDb!.Value, 1e-9);
        Assert.AreEqual(suite.Activations.Min(a => a.SqnrDb), quantized.Report.WorstActivations[0].SqnrDb, 1e-9);
    }

    [TestMethod]
    public void BelowTheThresholdTheReportWarnsNamingTheWorstPoints()
    {
        var report = Quantize("fmnist_cnn", new PrepareOptions { OutputSqnrWarningDb = 200 }).Report;
        var warning = report.Warnings.Single(w => w.Contains("output SQNR", StringComparison.Ordinal));
        StringAssert.Contains(warning, "below 200.00 dB");
        StringAssert.Contains(warning, $"'{report.WorstActivations[0].Tensor}'");
        StringAssert.Contains(report.ToString(), "warning: the int8 output differs from float");
    }

    [TestMethod]
    public void WeightsBelowTheirThresholdAreNamedWithTheirNode()
    {
        var report = Quantize("fmnist_cnn", new PrepareOptions { WeightSqnrWarningDb = 90 }).Report;
        Assert.IsNotEmpty(report.WeakWeights);
        var warning = report.Warnings.Single(w => w.Contains("quantized weight(s) below 90.00 dB", StringComparison.Ordinal));
        StringAssert.Contains(warning, $"'{report.WeakWeights[0].FloatName}' of node '{report.WeakWeights[0].NodeName}'");
        Assert.IsTrue(report.WeakWeights.All(w => w.SqnrDb < 90));
        Assert.IsEmpty(Quantize("fmnist_cnn", new PrepareOptions()).Report.WeakWeights, "int8 per-channel weights are far above 20 dB");
    }

    [TestMethod]
    public void TheCheckCanBeTurnedOffAndDynamicModeChecksOnlyWeights()
    {
        var off = Quantize("fmnist_cnn", new PrepareOptions { QualityCheckSamples = 0 }).Report;
        Assert.IsNull(off.OutputSqnrDb);
        Assert.AreEqual(0, off.CheckedSamples);
        var dynamic = Quantize("fmnist_rowtf", new PrepareOptions { WeightSqnrWarningDb = 90 }, dynamic: true).Report;
        Assert.IsNull(dynamic.OutputSqnrDb);
        Assert.IsNotEmpty(dynamic.WeakWeights, "the weight check runs without calibration samples");
    }

    [TestMethod]
    public void KeptSamplesAreCopiesSoAProducerReusingItsArraysCannotChangeThem()
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        var batches = FlowFixture.CalibrationBatches(32).Take(2).ToList();
        var reference = prepared.Convert_AfterCalibrating(batches);
        foreach (var b in batches)
            Array.Clear(b[0].Floats!); // the producer reuses its buffer after calibration
        Assert.AreEqual(reference, prepared.Convert().Report.OutputSqnrDb);
    }
}

internal static class PreparedModelTestExtensions
{
    public static double? Convert_AfterCalibrating(this PreparedModel prepared, IEnumerable<IReadOnlyList<Calibration.NamedTensor>> batches)
    {
        prepared.Calibrate(batches);
        return prepared.Convert().Report.OutputSqnrDb;
    }
}
