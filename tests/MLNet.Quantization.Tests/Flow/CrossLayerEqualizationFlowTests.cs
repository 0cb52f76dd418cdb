using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary><see cref="PrepareOptions.CrossLayerEqualization"/> through prepare, calibrate and convert, the report and the numeric suite.</summary>
[TestClass]
public sealed class CrossLayerEqualizationFlowTests
{
    private static QuantizedModel Quantize(string model, bool equalize, out PreparedModel prepared)
    {
        prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()),
            new PrepareOptions { CrossLayerEqualization = equalize });
        prepared.Calibrate(FlowFixture.CalibrationBatches());
        return prepared.Convert();
    }

    [TestMethod]
    [DataRow("fmnist_cnn", 0.003)]
    [DataRow("fmnist_mobile", 0.008)]
    public void EqualizedModelsKeepTheirFullTestSetAccuracyAndReportThePairs(string model, double maxDrop)
    {
        var quantized = Quantize(model, equalize: true, out _);
        using var runner = new ModelRunner(quantized.Model);
        double accuracy = runner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        double fp32 = TestData.Fp32Accuracy(model);
        int pairs = quantized.Report.EqualizedPairs!.Value;
        Console.WriteLine($"{model} static + cross-layer equalization ({pairs} pairs): fp32 {fp32:F4} int8 {accuracy:F4}, output SQNR {quantized.Report.OutputSqnrDb:F2} dB");
        Assert.IsGreaterThanOrEqualTo(fp32 - maxDrop, accuracy, $"{model}: fp32 {fp32:F4}, int8 {accuracy:F4}");
        StringAssert.Contains(quantized.Report.ToString(), $"cross-layer equalization: {pairs} conv pairs");
        Assert.AreEqual("fold_constants=true;fold_batchnorm=true;cross_layer_equalization=true", quantized.Model.MetadataProps["mlnet_quantization.float_reference"]);
        Assert.IsNull(FlowFixture.Quantized(model, dynamic: false).Report.EqualizedPairs, "not asked for: null");
    }

    [TestMethod]
    public void TheNumericSuiteComparesAnEqualizedModelWithTheEqualizedFloatGraph()
    {
        // the recorded float reference rebuilds the equalized graph, so every quantization point matches by name and the
        // activations between equalized convs are compared at their equalized scale (a wrong reference gives ~0 dB there)
        var quantized = Quantize("fmnist_cnn", equalize: true, out _);
        Assert.IsGreaterThan(0, quantized.Report.EqualizedPairs!.Value, "precondition: fmnist_cnn has a Conv → Relu → Conv pair");
        var saved = OnnxModel.Load(quantized.Model.ToBytes());
        var report = NumericSuite.Compare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), saved, TestData.Test.Batches("input", 64).Take(4));
        Assert.IsEmpty(report.Unmatched, string.Join("; ", report.Unmatched));
        Assert.IsGreaterThan(20, report.Activations.Min(a => a.SqnrDb), "every activation close to its float counterpart");
        Assert.IsGreaterThan(30, report.OutputSqnrDb);
    }
}
