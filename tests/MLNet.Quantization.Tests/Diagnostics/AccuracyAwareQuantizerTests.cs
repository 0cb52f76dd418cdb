using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

/// <summary>
/// The proof on fmnist_rowtf. MinMax + reduce-range alone is not harsh on this model (measured: 85.90 % float,
/// 85.70 % quantized on the first 1,000 test images; 85.41 % vs 85.47 % on all 10,000), so the harsh config is MinMax
/// + reduce-range (per-tensor activations) calibrated on data with outliers: the first 256 training images, two of
/// which (indices 85 and 170) are fed as raw 0–255 pixels, a classic preprocessing slip. MinMax takes their range.
/// </summary>
[TestClass]
public sealed class AccuracyAwareQuantizerTests
{
    private static Lazy<List<IReadOnlyList<NamedTensor>>> OutlierCalibration => HarshRowTf.OutlierCalibration;

    private static EvaluationSet FirstTestImages(int count)
    {
        var test = TestData.Test;
        return new EvaluationSet(test.Images.AsSpan(0, count * 784).ToArray(), test.Labels.Take(count).ToArray());
    }

    private static X86Quantizer HarshQuantizer() => HarshRowTf.Quantizer();

    private static OnnxModel RowTf => HarshRowTf.Model;

    private static int MatMulGemm(QuantizationReport report) =>
        report.QuantizedNodesByOpType.GetValueOrDefault("MatMul") + report.QuantizedNodesByOpType.GetValueOrDefault("Gemm");

    [TestMethod]
    public void HarshStaticConfigOnRowTfIsBroughtWithinHalfAPointKeepingMostLayersInt8()
    {
        var evaluation = FirstTestImages(1000);
        var log = new List<string>();
        var result = new AccuracyAwareQuantizer(HarshQuantizer).Run(
            RowTf, OutlierCalibration.Value, evaluation, new AccuracyAwareOptions { MaxDrop = 0.005, Log = new SynchronousProgress(log) });

        Console.WriteLine(result);
        Assert.IsGreaterThan(0.01, result.FloatMetric - result.InitialMetric, "the harsh config must cost more than one point");
        Assert.IsTrue(result.TargetMet);
        Assert.IsLessThanOrEqualTo(0.005, result.Drop);
        Assert.HasCount(14, result.Layers);
        Assert.HasCount(14, result.Sensitivity);
        Assert.IsNotEmpty(result.Decisions);
        Assert.IsGreaterThanOrEqualTo(0.8 * result.Layers.Count, MatMulGemm(result.Model.Report));
        Assert.AreEqual(result.Layers.Count - result.Decisions.Count, MatMulGemm(result.Model.Report));
        Assert.AreEqual(result.Metric, result.Decisions[^1].Metric);
        Assert.AreEqual(result.Sensitivity[0].NodeName, result.Decisions[0].NodeName, "the most harmful layer goes back first");
        Assert.IsTrue(result.Decisions.All(d => result.Model.Report.NodesLeftInFloat.Any(f => f.Name == d.NodeName)));

        // the metric reported is the model's real accuracy on the evaluation set
        using var runner = new ModelRunner(result.Model.Model);
        Assert.AreEqual(result.Metric, runner.Accuracy(evaluation.Samples, evaluation.Labels), 1e-12);
        Assert.IsTrue(log.Any(l => l.StartsWith("step 1:", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void SameInputsGiveTheSameDecisionsAndTheMetricCallbackIsUsed()
    {
        var evaluation = FirstTestImages(300);
        int calls = 0;
        double Top1(float[] outputs, IReadOnlyList<int> labels)
        {
            calls++;
            return ModelRunner.TopOneAgreement(outputs, labels);
        }

        var options = new AccuracyAwareOptions { MaxDrop = 0.005, Metric = Top1 };
        var first = new AccuracyAwareQuantizer(HarshQuantizer).Run(RowTf, OutlierCalibration.Value, evaluation, options);
        int callsOnce = calls;
        var second = new AccuracyAwareQuantizer(HarshQuantizer).Run(RowTf, OutlierCalibration.Value, evaluation, options);

        CollectionAssert.AreEqual(first.Sensitivity.ToList(), second.Sensitivity.ToList());
        CollectionAssert.AreEqual(first.Decisions.ToList(), second.Decisions.ToList());
        CollectionAssert.AreEqual(first.Model.Model.ToBytes(), second.Model.Model.ToBytes());
        Assert.AreEqual(2 * callsOnce, calls);
        Assert.IsGreaterThan(first.Layers.Count, callsOnce); // float, fully quantized, one per layer, then each decision
    }

    [TestMethod]
    public void UnreachableTargetThrowsWithTheBestResultFound()
    {
        // only the head Gemm may go back, but the damage is in the embedding MatMul
        var options = new AccuracyAwareOptions { MaxDrop = 0.005, LayerOpTypes = new HashSet<string> { "Gemm" } };
        var e = Assert.ThrowsExactly<AccuracyTargetNotMetException>(
            () => new AccuracyAwareQuantizer(HarshQuantizer).Run(RowTf, OutlierCalibration.Value, FirstTestImages(300), options));

        var best = e.BestResult;
        Assert.IsFalse(best.TargetMet);
        Assert.HasCount(1, best.Layers);
        Assert.AreEqual("/head/Gemm", best.Sensitivity.Single().NodeName);
        Assert.IsGreaterThan(0.005, best.Drop);
        Assert.AreEqual(FusedGraphInspector.Int8Census(best.Model.Model.ToBytes()).ToString(), best.Model.Report.OrtInt8?.ToString());
        StringAssert.Contains(e.Message, "not met");
        StringAssert.Contains(e.Message, best.Metric.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void ModelsAlreadyWithinTheTargetAreReturnedAsIs()
    {
        var options = new AccuracyAwareOptions { MaxDrop = 0.02 };
        var calibration = Flow.FlowFixture.CalibrationBatches().ToList();
        var result = new AccuracyAwareQuantizer(() => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()))
            .Run(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), calibration, FirstTestImages(300), options);
        Assert.IsTrue(result.TargetMet);
        Assert.IsEmpty(result.Decisions);
        Assert.IsEmpty(result.Sensitivity);
        Assert.HasCount(4, result.Layers); // 2 Conv, 2 Gemm (the narrow stem conv is float by default)
        Assert.AreEqual(FusedGraphInspector.Int8Census(result.Model.Model.ToBytes()).ToString(), result.Model.Report.OrtInt8?.ToString(), "the returned model carries ORT's census");

        Assert.ThrowsExactly<ArgumentException>(() => new AccuracyAwareQuantizer(() => new X86Quantizer())
            .Run(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), calibration, new EvaluationSet(new float[10], [0, 1]), options));
    }

    private sealed class SynchronousProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
