using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizer;

namespace MLNet.Quantization.Tests.QuantizerTests;

[TestClass]
public sealed class X86QuantizerModelTests
{
    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");

    private static QuantizationAnnotations Annotate(OnnxGraph graph, QuantizationConfig config)
    {
        var quantizer = new X86Quantizer().SetGlobal(config);
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations);
        return annotations;
    }

    [TestMethod]
    public void FmnistCnnConvAndGemmNodesAreAnnotated()
    {
        // Unfolded graph (BatchNormalization still present): Conv and Gemm patterns do not need folding.
        var graph = OnnxGraph.Load(ModelPath("fmnist_cnn"));
        var config = X86Quantizer.GetDefaultConfig();
        var annotations = Annotate(graph, config);

        foreach (var name in new[] { "/c1/Conv", "/c2/Conv", "/c3/Conv" })
        {
            var conv = graph.Node(name);
            var a = annotations.Get(conv)!;
            Assert.AreEqual(config.InputActivation, a.InputQSpecMap[0], name);
            Assert.AreEqual(0, ((QuantizationSpec)a.InputQSpecMap[1]).ChannelAxis, name); // [Cout, Cin, kh, kw]
            Assert.AreEqual(DerivedQuantizationSpec.Bias(conv), a.InputQSpecMap[2], name);
        }

        // PyTorch exports Linear as Gemm with transB = 1 (weight [out, in]) → weight channels on axis 0.
        foreach (var name in new[] { "/fc1/Gemm", "/fc2/Gemm" })
        {
            var gemm = graph.Node(name);
            Assert.AreEqual(1L, gemm.GetInt("transB", 0));
            var a = annotations.Get(gemm)!;
            Assert.AreEqual(config.InputActivation, a.InputQSpecMap[0], name);
            Assert.AreEqual(0, ((QuantizationSpec)a.InputQSpecMap[1]).ChannelAxis, name);
            Assert.AreEqual(DerivedQuantizationSpec.Bias(gemm), a.InputQSpecMap[2], name);
        }

        // fc1 + Relu_3 is a linear + relu pattern: the Relu is claimed, not skipped.
        Assert.IsTrue(annotations.IsAnnotated(graph.Node("/Relu_3")));
        Assert.IsFalse(annotations.SkippedNodes.Any(s => s.NodeName == "/Relu_3"));
        // BatchNormalization has no pattern of its own (it is folded before annotation in the flow).
        Assert.AreEqual(3, annotations.SkippedNodes.Count(s => s.OpType == "BatchNormalization"));
    }
}
