using Microsoft.ML;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary><see cref="QuantizationOptions.SmoothQuantAlpha"/>: the first pass over the rows inside <c>Fit</c>, and the modes it refuses.</summary>
[TestClass]
public sealed class SmoothQuantEstimatorTests
{
    [TestMethod]
    public void FitMeasuresTheMaximaSmoothsAndReports()
    {
        var ml = new MLContext(seed: 1);
        var estimator = FashionMnistRows.Normalize(ml).Append(ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_rowtf"),
            SmoothQuantAlpha = 0.5,
        }));
        using var transformer = (QuantizedModelTransformer)estimator.Fit(FashionMnistRows.CalibrationView(ml)).LastTransformer;
        Assert.AreEqual(14, transformer.QuantizationReport.SmoothedLayers, "fmnist_rowtf's static MatMuls: patch embedding, q/k/v, output and MLP linears of both blocks");
        // without VNNI, ORT's uint8 × int8 kernel saturates its int16 pair sums (OrtU8S8Probe), which costs SQNR; measured on an AMD EPYC Zen 2: 25.8 dB
        Assert.IsGreaterThan(global::MLNet.Quantization.Runtime.OrtU8S8Probe.IsExact ? 30 : 20, transformer.QuantizationReport.OutputSqnrDb!.Value);
    }

    [TestMethod]
    [DataRow(QuantizationMode.Dynamic, 0.5)]
    [DataRow(QuantizationMode.Static, 0.0)]
    [DataRow(QuantizationMode.Static, 1.5)]
    public void DynamicModeAndAlphasOutsideZeroToOneAreRefused(QuantizationMode mode, double alpha)
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_rowtf"),
            Mode = mode,
            SmoothQuantAlpha = alpha,
        }));
        StringAssert.Contains(e.Message, "SmoothQuantAlpha");
    }
}
