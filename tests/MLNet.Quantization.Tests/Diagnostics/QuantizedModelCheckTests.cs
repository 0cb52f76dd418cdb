using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.Flow;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

[TestClass]
public sealed class QuantizedModelCheckTests
{
    private const int Samples = 256;

    private static readonly Lazy<(OnnxModel Float, QuantizedModel Quantized, EvaluationSet Data)> Cnn = new(() =>
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_cnn"));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        prepared.Calibrate(FlowFixture.CalibrationBatches());
        var test = TestData.Test;
        var data = new EvaluationSet(test.Images.AsSpan(0, Samples * test.ImageSize).ToArray(), test.Labels.Take(Samples).ToArray());
        return (model, prepared.Convert(), data);
    });

    private static readonly Lazy<QuantizedModelCheckResult> Result = new(() => QuantizedModelCheck.Run(Cnn.Value.Float, Cnn.Value.Quantized, Cnn.Value.Data));

    [TestMethod]
    public void FiguresAreTheNumericSuitesAndTheRunnersOnTheSameSamples()
    {
        var (floatModel, quantized, data) = Cnn.Value;
        var result = Result.Value;

        var suite = NumericSuite.Compare(floatModel, quantized.Model, TestData.Test.Batches("input", 64).Take(Samples / 64));
        Assert.AreEqual(Samples, result.Samples);
        Assert.AreEqual(suite.OutputSqnrDb, result.OutputSqnrDb, 1e-9);
        Assert.AreEqual(suite.Top1Agreement!.Value, result.Top1Agreement!.Value, 1e-12);
        using (var fp32 = new ModelRunner(floatModel))
            Assert.AreEqual(fp32.Accuracy(data.Samples, data.Labels), result.FloatMetric, 1e-12);
        using (var int8 = new ModelRunner(quantized.Model))
            Assert.AreEqual(int8.Accuracy(data.Samples, data.Labels), result.QuantizedMetric, 1e-12);
        Assert.AreEqual(result.FloatMetric - result.QuantizedMetric, result.MetricDrop, 1e-12);
        CollectionAssert.AreEqual(suite.Activations.Take(3).Select(a => a.Tensor).ToList(), result.WorstLayers.Select(a => a.Tensor).ToList());
        Assert.HasCount(3, result.WorstWeights);
    }

    [TestMethod]
    public void BarsClearedReturnTheSameResult()
    {
        var result = Result.Value;
        Assert.AreSame(result, result.Ensure(new QuantizationGate { MinOutputSqnrDb = 20, MinTop1Agreement = 0.95, MaxMetricDrop = 0.02 }));
        Assert.AreSame(result, result.EnsureOutputSqnrAtLeast(20).EnsureTop1AgreementAtLeast(0.95).EnsureMetricDropAtMost(0.02));
        Assert.AreSame(result, result.Ensure(new QuantizationGate()), "a gate without bars checks nothing");
    }

    [TestMethod]
    public void EveryBarMissedIsListedOnceWithTheWorstLayers()
    {
        var result = Result.Value;
        var gate = new QuantizationGate { MinOutputSqnrDb = 1000, MinTop1Agreement = 1.01, MaxMetricDrop = -1 };

        var e = Assert.ThrowsExactly<QuantizationGateException>(() => result.Ensure(gate));

        Assert.HasCount(3, e.Failures);
        Assert.AreSame(result, e.Result);
        StringAssert.StartsWith(e.Message, "Quantized model gate failed: output SQNR ");
        StringAssert.Contains(e.Message, "is below 1000.00 dB");
        StringAssert.Contains(e.Message, "top-1 agreement");
        StringAssert.Contains(e.Message, "top-1 accuracy dropped by");
        foreach (var layer in result.WorstLayers)
            StringAssert.Contains(e.Message, layer.Tensor);
        foreach (var weight in result.WorstWeights)
            StringAssert.Contains(e.Message, $"'{weight.NodeName}'");
    }

    [TestMethod]
    public void SingleBarMethodsThrowOnlyForTheirOwnBar()
    {
        var result = Result.Value;
        var sqnr = Assert.ThrowsExactly<QuantizationGateException>(() => result.EnsureOutputSqnrAtLeast(result.OutputSqnrDb + 0.01));
        Assert.HasCount(1, sqnr.Failures);
        StringAssert.Contains(sqnr.Failures[0], "output SQNR");
        var agreement = Assert.ThrowsExactly<QuantizationGateException>(() => result.EnsureTop1AgreementAtLeast(result.Top1Agreement!.Value + 1e-6));
        StringAssert.Contains(agreement.Failures.Single(), "top-1 agreement");
        var drop = Assert.ThrowsExactly<QuantizationGateException>(() => result.EnsureMetricDropAtMost(result.MetricDrop - 1e-6));
        StringAssert.Contains(drop.Failures.Single(), "dropped by");
    }

    [TestMethod]
    public void ANaNMetricMissesItsBarUnderItsOwnName()
    {
        var (floatModel, quantized, data) = Cnn.Value;
        var options = new QuantizedModelCheckOptions { Metric = (_, _) => double.NaN, MetricName = "mean IoU", WorstLayerCount = 1 };
        var result = QuantizedModelCheck.Run(floatModel, quantized, data, options);

        var e = Assert.ThrowsExactly<QuantizationGateException>(() => result.EnsureMetricDropAtMost(1));

        StringAssert.Contains(e.Message, "mean IoU dropped by NaN");
        Assert.HasCount(1, result.WorstLayers);
    }

    [TestMethod]
    public void SamplesThatDoNotFitTheInputAreRejectedBeforeRunning()
    {
        var (floatModel, quantized, _) = Cnn.Value;
        var wrong = new EvaluationSet(new float[4 * 10], [0, 1, 2, 3]);

        var e = Assert.ThrowsExactly<ArgumentException>(() => QuantizedModelCheck.Run(floatModel, quantized, wrong));
        StringAssert.Contains(e.Message, "10 values each");
        StringAssert.Contains(e.Message, "784");

        var badOptions = Assert.ThrowsExactly<ArgumentException>(() => QuantizedModelCheck.Run(floatModel, quantized, Cnn.Value.Data, new QuantizedModelCheckOptions { BatchSize = 0 }));
        StringAssert.Contains(badOptions.Message, "BatchSize");
    }
}
