using MLNet.Quantization.Onnx;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class QuantizationFlowTests
{
    [TestMethod]
    [DataRow("fmnist_cnn", false, 0.003)]
    [DataRow("fmnist_mobile", false, 0.008)]
    [DataRow("fmnist_rowtf", true, 0.005)]
    [DataRow("fmnist_rowtf", false, 0.005)]
    public void AccuracyOnTheFullTestSetStaysWithinBounds(string model, bool dynamic, double maxDrop)
    {
        var quantized = FlowFixture.Quantized(model, dynamic);
        using var runner = new ModelRunner(quantized.Model);
        double accuracy = runner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        double fp32 = TestData.Fp32Accuracy(model);
        Console.WriteLine($"{model} {(dynamic ? "dynamic" : "static")}: fp32 {fp32:F4} int8 {accuracy:F4}");
        Assert.IsGreaterThanOrEqualTo(fp32 - maxDrop, accuracy, $"{model}: fp32 {fp32:F4}, int8 {accuracy:F4}");
    }

    [TestMethod]
    [DataRow("fmnist_cnn", false)]
    [DataRow("fmnist_mobile", false)]
    [DataRow("fmnist_rowtf", true)]
    [DataRow("fmnist_rowtf", false)]
    public void OnnxRuntimeFusesEveryQuantizedConvAndLinear(string model, bool dynamic)
    {
        var quantized = FlowFixture.Quantized(model, dynamic);
        byte[] bytes = quantized.Model.ToBytes();
        var ops = FusedGraphInspector.OptimizedOpTypes(bytes);
        var unfused = FusedGraphInspector.UnfusedQuantizedCompute(bytes);
        Assert.IsEmpty(unfused, $"float compute between DQ and Q: {string.Join(", ", unfused)}");
        int convs = OnnxModel.Load(TestPaths.Model(model)).Proto.Graph.Node.Count(n => n.OpType == "Conv");
        int narrow = quantized.Report.NodesLeftInFloat.Count(n => n.OpType == "Conv");
        Assert.AreEqual(dynamic ? 0 : convs, quantized.Report.QuantizedNodesByOpType.GetValueOrDefault("Conv") + narrow);
        Assert.IsTrue(quantized.Report.NodesLeftInFloat.Where(n => n.OpType == "Conv").All(n => n.Reason.Contains("KeepNarrowConvsInFloat", StringComparison.Ordinal)),
            "only the narrow-conv rule leaves a Conv in float");
        Assert.AreEqual(convs - narrow, ops.GetValueOrDefault("QLinearConv"), "every quantized Conv became QLinearConv");
        Assert.AreEqual(narrow, ops.GetValueOrDefault("Conv") + ops.GetValueOrDefault("com.microsoft:FusedConv"), "the narrow convs stay float");
        int int8Linear = new[] { "com.microsoft:QGemm", "QLinearMatMul", "com.microsoft:DynamicQuantizeMatMul", "com.microsoft:MatMulIntegerToFloat" }
            .Sum(k => ops.GetValueOrDefault(k));
        int quantizedLinear = quantized.Report.QuantizedNodesByOpType.GetValueOrDefault("Gemm") + quantized.Report.QuantizedNodesByOpType.GetValueOrDefault("MatMul");
        Assert.AreEqual(quantizedLinear, int8Linear, $"int8 linear kernels: {string.Join(", ", ops.Select(k => $"{k.Key}:{k.Value}"))}");
    }

    [TestMethod]
    [DataRow("fmnist_cnn", false)]
    [DataRow("fmnist_mobile", false)]
    [DataRow("fmnist_rowtf", true)]
    [DataRow("fmnist_rowtf", false)]
    public void ConvertedModelsPassTheOnnxChecker(string model, bool dynamic)
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            string path = Path.Combine(dir, "q.onnx");
            FlowFixture.Quantized(model, dynamic).Save(path);
            OnnxChecker.AssertValid(path);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void ConvModelIsAtLeast3Point5TimesSmaller()
    {
        var report = FlowFixture.Quantized("fmnist_cnn", false).Report;
        Assert.AreEqual(new FileInfo(TestPaths.Model("fmnist_cnn")).Length, report.FloatModelBytes);
        Assert.IsGreaterThanOrEqualTo(3.5, report.CompressionRatio);
        // the 1-channel stem conv, its Relu and the pool after them stay float (KeepNarrowConvsInFloat); the rest is int8
        CollectionAssert.AreEquivalent(new[] { "/c1/Conv", "/Relu", "/MaxPool" }, report.NodesLeftInFloat.Select(n => n.Name).ToArray());
        Assert.AreEqual(2, report.QuantizedNodesByOpType["Conv"]);
        Assert.AreEqual(2, report.QuantizedNodesByOpType["Gemm"]);
    }

    [TestMethod]
    public void QkvLinearsShareOneDynamicQuantizeLinearAndGetThreeDequantizeLinear()
    {
        // fmnist_rowtf's attention has separate q/k/v linears reading one tensor: as PyTorch's test_dynamic_quant_linear,
        // that tensor gets ONE DynamicQuantizeLinear and one DequantizeLinear per linear.
        var graph = MLNet.Quantization.Graph.OnnxGraph.FromModel(FlowFixture.Quantized("fmnist_rowtf", true).Model);
        var dqls = graph.Nodes.Where(n => n.OpType == "DynamicQuantizeLinear").ToList();
        var qkv = dqls.Select(d => (Node: d, Readers: graph.GetConsumers(d.Outputs[0])))
            .Where(x => x.Readers.Count == 3).ToList();
        Assert.HasCount(2, qkv, "one q/k/v triple per transformer block");
        foreach (var (dql, readers) in qkv)
        {
            Assert.AreEqual(1, graph.Nodes.Count(n => n.OpType == "DynamicQuantizeLinear" && n.Inputs[0] == dql.Inputs[0]), "one DynamicQuantizeLinear per tensor");
            Assert.IsTrue(readers.All(r => r.Node.OpType == "DequantizeLinear"));
            var matmuls = readers.SelectMany(r => graph.GetConsumers(r.Node.Outputs[0])).Select(u => u.Node).ToList();
            Assert.HasCount(3, matmuls);
            Assert.IsTrue(matmuls.All(m => m.OpType == "MatMul"), "each DequantizeLinear feeds its own q, k or v MatMul");
        }
    }

    [TestMethod]
    public void StaticTensorWithSeveralConsumersIsObservedOnce()
    {
        // static rowtf: the q/k/v input is quantized by ONE QuantizeLinear and dequantized once per consumer
        var graph = MLNet.Quantization.Graph.OnnxGraph.FromModel(FlowFixture.Quantized("fmnist_rowtf", false).Model);
        var fanOut = graph.Nodes.Where(n => n.OpType == "QuantizeLinear")
            .Select(q => graph.GetConsumers(q.Outputs[0]).Count).Max();
        Assert.AreEqual(3, fanOut);
        var tensors = graph.Nodes.Where(n => n.OpType == "QuantizeLinear").Select(n => n.Inputs[0]).ToList();
        Assert.AreEqual(tensors.Count, tensors.Distinct().Count(), "at most one QuantizeLinear per tensor");
    }
}
