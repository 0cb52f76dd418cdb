using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary><see cref="PrepareOptions.SmoothQuantAlpha"/> through measure, prepare, calibrate and convert on fmnist_rowtf.</summary>
[TestClass]
public sealed class SmoothQuantFlowTests
{
    private static X86Quantizer Static() => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());

    [TestMethod]
    [DataRow(0.5)]
    [DataRow(0.75)]
    public void SmoothedRowTransformerKeepsItsFloatFunctionAndItsFullTestSetAccuracy(double alpha)
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
        var maxima = QuantizationFlow.MeasureSmoothQuantMaxima(model, FlowFixture.CalibrationBatches());
        var prepared = QuantizationFlow.Prepare(model, Static(), new PrepareOptions { SmoothQuantAlpha = alpha, SmoothQuantMaxima = maxima });

        // the smoothed float graph computes what the float model does
        using (var original = new ModelRunner(model))
        using (var smoothed = new ModelRunner(prepared.Graph.ToModel()))
        {
            var images = TestData.Test.Images.AsSpan(0, 256 * original.SampleSize);
            var a = original.Run(images, 256);
            var b = smoothed.Run(images, 256);
            double largest = a.Max(Math.Abs), worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            Assert.IsLessThan(1e-4 * Math.Max(1, largest), worst, $"largest logit {largest}, largest difference {worst}");
        }

        prepared.Calibrate(FlowFixture.CalibrationBatches());
        var quantized = prepared.Convert();
        using var runner = new ModelRunner(quantized.Model);
        double accuracy = runner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        double fp32 = TestData.Fp32Accuracy("fmnist_rowtf");
        using var plainRunner = new ModelRunner(FlowFixture.Quantized("fmnist_rowtf", dynamic: false).Model);
        double plain = plainRunner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        int layers = quantized.Report.SmoothedLayers!.Value;
        Console.WriteLine($"fmnist_rowtf static, SmoothQuant α {alpha} ({layers} layers): fp32 {fp32:F4} int8 {plain:F4} int8+SmoothQuant {accuracy:F4}, output SQNR {quantized.Report.OutputSqnrDb:F2} dB");
        Assert.AreEqual(14, layers);
        Assert.IsGreaterThanOrEqualTo(fp32 - 0.005, accuracy, $"fp32 {fp32:F4}, int8 + SmoothQuant {accuracy:F4}");
        StringAssert.Contains(quantized.Report.ToString(), $"SmoothQuant: {layers} MatMul/Gemm layers smoothed");
        Assert.IsNull(FlowFixture.Quantized("fmnist_rowtf", dynamic: false).Report.SmoothedLayers, "not asked for: null");
    }

    [TestMethod]
    public void PrepareBuildsTheFloatGraphOnceAndSmoothQuantSmoothsItAsMeasuredMaximaDo()
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
        var steps = new StepLog();
        var prepared = QuantizationFlow.Prepare(model, Static(), new PrepareOptions { SmoothQuantAlpha = 0.5, Progress = steps });
        Assert.IsTrue(prepared.NeedsSmoothQuant);
        Assert.IsNull(prepared.SmoothedLayers, "not smoothed yet");
        Assert.ThrowsExactly<InvalidOperationException>(() => prepared.Calibrate(FlowFixture.CalibrationBatches()));
        var smoothed = prepared.SmoothQuant(FlowFixture.CalibrationBatches());
        Assert.IsFalse(smoothed.NeedsSmoothQuant);
        Assert.ThrowsExactly<InvalidOperationException>(() => smoothed.SmoothQuant(FlowFixture.CalibrationBatches()));
        Assert.AreEqual(1, steps.Steps.Count(s => s.StartsWith("checking ONNX Runtime loads the model", StringComparison.Ordinal)), string.Join("; ", steps.Steps));
        Assert.AreEqual(1, steps.Steps.Count(s => s == "folding constants"), string.Join("; ", steps.Steps));
        Assert.AreEqual(1, steps.Steps.Count(s => s.StartsWith("smoothing", StringComparison.Ordinal)));

        // the same model as from maxima measured apart
        var maxima = QuantizationFlow.MeasureSmoothQuantMaxima(model, FlowFixture.CalibrationBatches());
        var apart = QuantizationFlow.Prepare(model, Static(), new PrepareOptions { SmoothQuantAlpha = 0.5, SmoothQuantMaxima = maxima });
        smoothed.Calibrate(FlowFixture.CalibrationBatches());
        apart.Calibrate(FlowFixture.CalibrationBatches());
        var (a, b) = (smoothed.Convert(), apart.Convert());
        Assert.AreEqual(14, a.Report.SmoothedLayers);
        CollectionAssert.AreEqual(b.Model.ToBytes(), a.Model.ToBytes());
    }

    private sealed class StepLog : IProgress<QuantizationProgress>
    {
        public List<string> Steps { get; } = [];

        public void Report(QuantizationProgress value) => Steps.Add(value.Step);
    }

    [TestMethod]
    public void PrepareRefusesAnAlphaOutOfRangeOrInDynamicMode()
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
        var maxima = new Dictionary<string, float[]>();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => QuantizationFlow.Prepare(model, Static(), new PrepareOptions { SmoothQuantAlpha = 0, SmoothQuantMaxima = maxima }));
        var dynamic = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => QuantizationFlow.Prepare(model, dynamic, new PrepareOptions { SmoothQuantAlpha = 0.5, SmoothQuantMaxima = maxima })).Message, "static");
    }
}
