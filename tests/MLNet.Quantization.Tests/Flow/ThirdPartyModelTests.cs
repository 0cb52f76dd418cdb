using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class ThirdPartyModelTests
{
    [TestMethod]
    public void ZooMnist8QuantizesAndKeepsItsAccuracy()
    {
        // the ONNX zoo's mnist-8: opset 8 (raised to 13), batch fixed at 1, initializers also listed as inputs,
        // and Conv biases written as separate Add nodes (folded into the Conv before annotating)
        string dir = Path.Combine(AppContext.BaseDirectory, "TestData", "mnist");
        var data = FashionMnist.Load(dir, train: false, normalize: false);
        var model = OnnxModel.Load(Path.Combine(dir, "mnist-8.onnx"));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        string input = prepared.Graph.Inputs.Single().Name;
        Assert.AreEqual("Input3", input, "initializers listed as graph inputs are not model inputs");
        prepared.Calibrate(Enumerable.Range(1800, 200).Select(i =>
            (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats(input, data.Image(i).ToArray(), 1, 1, 28, 28)]));
        var quantized = prepared.Convert();
        // its first conv reads 1 channel and stays float (KeepNarrowConvsInFloat); the 8-channel conv and the MatMul are int8
        var left = quantized.Report.NodesLeftInFloat;
        Assert.AreEqual(1, left.Count(n => n.OpType == "Conv"), string.Join("; ", left));
        Assert.IsTrue(left.Where(n => n.OpType != "MaxPool").All(n => n.Reason.Contains("KeepNarrowConvsInFloat", StringComparison.Ordinal)), string.Join("; ", left));
        Assert.IsTrue(left.Where(n => n.OpType == "MaxPool").All(n => n.Reason.Contains("does not come from a quantized pattern", StringComparison.Ordinal)), string.Join("; ", left));

        var ops = FusedGraphInspector.OptimizedOpTypes(quantized.Model.ToBytes());
        Assert.AreEqual(1, ops.GetValueOrDefault("QLinearConv"));
        Assert.AreEqual(1, ops.GetValueOrDefault("QLinearMatMul"));

        using var fp32 = new ModelRunner(model);
        using var int8 = new ModelRunner(quantized.Model);
        var images = data.Images.AsSpan(0, 1800 * 784);
        var labels = data.Labels.Take(1800).ToArray();
        double a = fp32.Accuracy(images, labels), b = int8.Accuracy(images, labels);
        Assert.IsGreaterThanOrEqualTo(0.97, a, "fp32 sanity");
        Assert.IsGreaterThanOrEqualTo(a - 0.005, b, $"fp32 {a:F4} int8 {b:F4}");
    }
}
