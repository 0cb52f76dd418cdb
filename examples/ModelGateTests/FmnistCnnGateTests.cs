using MLNet.Quantization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Samples;

namespace ModelGateTests;

/// <summary>
/// The gate a team keeps in CI for its int8 Fashion-MNIST CNN: quantize as the product does, then hold the int8 model
/// to the float one on the bundled Fashion-MNIST slice (2,000 test images). If a change to the model, the calibration
/// data or the quantizer costs accuracy, the build fails with the figures and the layers where the error enters.
/// </summary>
[TestClass]
public sealed class FmnistCnnGateTests
{
    /// <summary>The team's bars: output SQNR, top-1 agreement with the float model, at most half a point of accuracy.</summary>
    private static readonly QuantizationGate Gate = new() { MinOutputSqnrDb = 30, MinTop1Agreement = 0.99, MaxMetricDrop = 0.005 };

    private static OnnxModel _floatModel = null!;
    private static FashionMnist _calibration = null!;
    private static EvaluationSet _evaluation = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        _floatModel = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "models", "fmnist_cnn.onnx"));
        string data = Path.Combine(AppContext.BaseDirectory, "data");
        _calibration = FashionMnist.Load(data, train: true, maxCount: 512);
        var test = FashionMnist.Load(data, train: false);
        _evaluation = new EvaluationSet(test.Images, test.Labels);
    }

    [TestMethod]
    public void Int8ModelClearsTheGate()
    {
        var quantized = Quantize(_calibration.Batches("input", 64));

        var result = QuantizedModelCheck.Run(_floatModel, quantized, _evaluation).Ensure(Gate);

        TestContext.WriteLine(result.Summary());
        Assert.AreEqual(_evaluation.Labels.Count, result.Samples);
    }

    [TestMethod]
    public void BadlyCalibratedModelFailsTheGateNamingItsWorstLayers()
    {
        // Calibrated on two all-zero images: every activation range collapses, the int8 model outputs garbage.
        var zeros = NamedTensor.FromFloats("input", new float[2 * 28 * 28], 2, 1, 28, 28);
        var quantized = Quantize([[zeros]]);
        var result = QuantizedModelCheck.Run(_floatModel, quantized, _evaluation);

        var failure = Assert.ThrowsExactly<QuantizationGateException>(() => result.Ensure(Gate));

        TestContext.WriteLine(failure.Message);
        Assert.IsNotEmpty(result.WorstLayers);
        var worst = result.WorstLayers[0];
        Assert.IsLessThan(Gate.MinOutputSqnrDb!.Value, result.OutputSqnrDb);
        StringAssert.Contains(failure.Message, "output SQNR");
        StringAssert.Contains(failure.Message, worst.Tensor, "the message names the worst layer's tensor");
        StringAssert.Contains(failure.Message, worst.Consumers[0], "the message names the node reading it");
        StringAssert.Contains(failure.Message, $"'{result.WorstWeights[0].NodeName}'", "the message names the layer with the worst weights");
        string[] layers = ["/c2/Conv", "/c3/Conv", "/fc1/Gemm", "/fc2/Gemm", "/Add", "/MaxPool", "/MaxPool_1", "/Flatten"];
        Assert.IsTrue(layers.Any(failure.Message.Contains), $"the message names a layer of fmnist_cnn: {failure.Message}");
    }

    private static QuantizedModel Quantize(IEnumerable<IReadOnlyList<NamedTensor>> calibration)
    {
        var prepared = QuantizationFlow.Prepare(_floatModel, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        prepared.Calibrate(calibration);
        return prepared.Convert();
    }
}
