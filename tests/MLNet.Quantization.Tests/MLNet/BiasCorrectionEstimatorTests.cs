using Microsoft.ML;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary><see cref="QuantizationOptions.BiasCorrection"/>: bias correction inside <c>Fit</c>.</summary>
[TestClass]
public sealed class BiasCorrectionEstimatorTests
{
    private static QuantizedModelTransformer Fit(MLContext ml, bool biasCorrection)
    {
        var estimator = FashionMnistRows.Normalize(ml).Append(ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_mobile"), BiasCorrection = biasCorrection }));
        return (QuantizedModelTransformer)estimator.Fit(FashionMnistRows.CalibrationView(ml)).LastTransformer;
    }

    [TestMethod]
    public void FitCorrectsTheBiasesAndTheOutputMovesCloserToFloat()
    {
        var ml = new MLContext(seed: 1);
        using var plain = Fit(ml, biasCorrection: false);
        using var corrected = Fit(ml, biasCorrection: true);
        Assert.IsNull(plain.QuantizationReport.BiasCorrectedLayers);
        Assert.AreEqual(8, corrected.QuantizationReport.BiasCorrectedLayers);
        Assert.IsGreaterThan(plain.QuantizationReport.OutputSqnrDb!.Value, corrected.QuantizationReport.OutputSqnrDb!.Value,
            $"output SQNR {plain.QuantizationReport.OutputSqnrDb:F2} → {corrected.QuantizationReport.OutputSqnrDb:F2} dB");
    }

    [TestMethod]
    public void BiasCorrectionNeedsStaticMode() =>
        Assert.ThrowsExactly<ArgumentException>(() => new MLContext().Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            Mode = QuantizationMode.Dynamic,
            BiasCorrection = true,
        }));
}
