using Microsoft.ML;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary><see cref="QuantizationOptions.MinOutputSqnr"/>: the label-free repair inside <c>Fit</c>.</summary>
[TestClass]
public sealed class MinOutputSqnrEstimatorTests
{
    private static QuantizedModelTransformer Fit(MLContext ml, double? minSqnr)
    {
        var estimator = FashionMnistRows.Normalize(ml).Append(ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), MinOutputSqnr = minSqnr }));
        return (QuantizedModelTransformer)estimator.Fit(FashionMnistRows.CalibrationView(ml)).LastTransformer;
    }

    [TestMethod]
    public void FitRepairsTowardsTheTargetAndReportsTheDecisions()
    {
        var ml = new MLContext(seed: 1);
        using var plain = Fit(ml, null);
        Assert.IsNull(plain.QuantizationReport.Repair);
        double initial = plain.QuantizationReport.OutputSqnrDb!.Value;

        using var repaired = Fit(ml, initial + 3);
        var repair = repaired.QuantizationReport.Repair!;
        Console.WriteLine(repaired.QuantizationReport);
        Assert.AreEqual(initial, repair.InitialSqnrDb, 1e-9);
        Assert.IsNotEmpty(repair.Decisions);
        Assert.AreEqual(repair.FinalSqnrDb, repaired.QuantizationReport.OutputSqnrDb ?? double.PositiveInfinity, 1e-9);
        if (repair.TargetMet)
            Assert.IsGreaterThanOrEqualTo(initial + 3, repair.FinalSqnrDb);
        else
            Assert.IsTrue(repaired.QuantizationReport.Warnings.Any(w => w.Contains("was not reached", StringComparison.Ordinal)));

        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            Mode = QuantizationMode.Dynamic,
            MinOutputSqnr = 20,
        }));
    }
}
