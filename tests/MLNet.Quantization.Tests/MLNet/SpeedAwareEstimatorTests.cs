using Microsoft.ML;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary><see cref="QuantizationOptions.SpeedAware"/>: speed-aware placement inside <c>Fit</c>, with its cache.</summary>
[TestClass]
public sealed class SpeedAwareEstimatorTests
{
    [TestMethod]
    public void FitPlacesByMeasuredSpeedReportsEachUnitAndReusesTheCache()
    {
        var ml = new MLContext(seed: 1);
        string cache = Path.Combine(TestPaths.NewTempDirectory(), "cnn.speed.json");
        QuantizedModelTransformer Fit() => (QuantizedModelTransformer)FashionMnistRows.Normalize(ml)
            .Append(ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), SpeedAware = true, SpeedAwareCachePath = cache }))
            .Fit(FashionMnistRows.CalibrationView(ml)).LastTransformer;

        using var first = Fit();
        var speed = first.QuantizationReport.SpeedAware!;
        Console.WriteLine(speed);
        Assert.HasCount(4, speed.Decisions, "fmnist_cnn's 2 quantized Conv and 2 Gemm");
        Assert.IsFalse(speed.FromCache);
        Assert.IsTrue(File.Exists(cache));
        Assert.IsTrue(speed.Outcome == MLNet.Quantization.Diagnostics.SpeedAwareOutcome.FloatEquivalent || speed.ChosenMicros <= speed.Fp32Micros);

        using var second = Fit();
        Assert.IsTrue(second.QuantizationReport.SpeedAware!.FromCache);
        CollectionAssert.AreEqual(speed.Decisions.ToList(), second.QuantizationReport.SpeedAware.Decisions.ToList());

        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"), SpeedAware = true, MinOutputSqnr = 20,
        }));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), SpeedAwareCachePath = cache }));
    }
}
