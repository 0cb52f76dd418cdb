using Microsoft.ML;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Tests.MLNetIntegration;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.CalibrationMemoryBudget;

/// <summary>Calibration batches sized from the bytes the observed tensors need per sample.</summary>
[TestClass]
public sealed class CalibrationMemoryTests
{
    private static ValueInfo Float(string name, params long?[] dims) =>
        new(name, TensorElementType.Float, dims.Select(d => new Dimension(d, d is null ? "N" : null)).ToArray());

    [TestMethod]
    public void BytesPerSampleAddsEveryTensorWithoutItsBatchDimension()
    {
        // an image input and two activations of a ResNet stem: 3·224·224 + 64·112·112 + 64·56·56 floats per sample
        long? bytes = CalibrationMemory.BytesPerSample([Float("x", null, 3, 224, 224), Float("conv", null, 64, 112, 112), Float("pool", null, 64, 56, 56)]);
        Assert.AreEqual(4L * (3 * 224 * 224 + 64 * 112 * 112 + 64 * 56 * 56), bytes);
        Assert.AreEqual(8L * 7, CalibrationMemory.BytesPerSample([new ValueInfo("ids", TensorElementType.Int64, [new Dimension(null, "N"), new Dimension(7, null)])]));
        Assert.IsNull(CalibrationMemory.BytesPerSample([Float("x", null, 3, null, null)]), "a symbolic size after the batch is unknown");
        Assert.IsNull(CalibrationMemory.BytesPerSample([new ValueInfo("x", TensorElementType.Float, null)]), "an unknown shape is unknown");
    }

    [TestMethod]
    public void BatchSizeKeepsBytesPerSampleTimesSamplesWithinTheBudget()
    {
        long perSample = 4L * (3 * 224 * 224 + 64 * 112 * 112 + 64 * 56 * 56); // 4.4 MiB
        Assert.AreEqual(29, CalibrationMemory.BatchSize(perSample, 128L << 20, 64));
        Assert.IsTrue(29 * perSample <= 128L << 20 && 30 * perSample > 128L << 20);
        Assert.AreEqual(64, CalibrationMemory.BatchSize(perSample, 4L << 30, 64), "a large budget keeps the batch asked for");
        Assert.AreEqual(1, CalibrationMemory.BatchSize(perSample, 1 << 20, 64), "one sample larger than the budget still runs");
        Assert.AreEqual(64, CalibrationMemory.BatchSize(null, 1 << 20, 64), "unknown sizes keep the batch asked for");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CalibrationMemory.BatchSize(perSample, 0, 64));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PrepareOptions { CalibrationMemoryBudgetBytes = -1 });
    }

    [TestMethod]
    public void FitCalibratesOnBatchesThatFitTheBudget()
    {
        var ml = new MLContext(seed: 1);
        var data = FashionMnistRows.Normalize(ml).Fit(FashionMnistRows.CalibrationView(ml)).Transform(FashionMnistRows.CalibrationView(ml));
        QuantizationReport Fit(long budget)
        {
            using var model = ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), MaxCalibrationRows = 128, CalibrationMemoryBudgetBytes = budget }).Fit(data);
            return model.QuantizationReport;
        }

        var roomy = Fit(PrepareOptions.DefaultCalibrationMemoryBudgetBytes);
        Assert.AreEqual(64, roomy.CalibrationBatchSize, "fmnist_cnn needs well under 8 MB per sample");
        Assert.AreEqual(128, roomy.CalibrationSamples);
        var tight = Fit(300_000); // a few samples' activations
        Assert.IsTrue(tight.CalibrationBatchSize is >= 1 and < 64, $"batch {tight.CalibrationBatchSize} under a 300 kB budget");
        Assert.AreEqual(128, tight.CalibrationSamples);
    }
}
