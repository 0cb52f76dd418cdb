using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.TorchSharp.Qat;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

[TestClass]
public sealed class GraphModuleTests
{
    private const int Samples = 64;

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    [DataRow("fmnist_rowtf")]
    public void PreparedGraphMatchesOnnxRuntimeOnTheFloatModel(string name)
    {
        var model = OnnxModel.Load(QatTestData.ModelPath(name));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isQat: true)));
        using var module = new GraphModule(prepared.Graph);
        AssertMatchesOrt(model, module);
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    public void RawGraphWithBatchNormAndConstantsMatchesOnnxRuntime(string name)
    {
        var model = OnnxModel.Load(QatTestData.ModelPath(name));
        using var module = new GraphModule(OnnxGraph.FromModel(model));
        AssertMatchesOrt(model, module);
    }

    [TestMethod]
    public void UnsupportedOperatorIsNamedWhenTheModuleIsBuilt()
    {
        var graph = OnnxGraph.Load(QatTestData.ModelPath("fmnist_cnn"));
        graph.AddNode("Hardmax", ["logits"], ["hard"], name: "my_hardmax");

        var error = Assert.ThrowsExactly<NotSupportedException>(() => new GraphModule(graph));

        StringAssert.Contains(error.Message, "'my_hardmax'");
        StringAssert.Contains(error.Message, "Hardmax");
    }

    [TestMethod]
    public void WrongInputShapeThrowsBeforeReachingLibTorch()
    {
        using var module = new GraphModule(OnnxGraph.Load(QatTestData.ModelPath("fmnist_cnn")));
        module.eval();
        using var x = zeros(2, 1, 27, 28);

        var error = Assert.ThrowsExactly<ArgumentException>(() => module.forward(x));

        StringAssert.Contains(error.Message, "'input'");
    }

    [TestMethod]
    public void WeightsAreParametersAndShapeConstantsAreNot()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_rowtf"));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isQat: true)));
        using var module = new GraphModule(prepared.Graph);

        var names = module.Weights.Keys.ToHashSet();
        Assert.Contains("head.weight", names);
        Assert.Contains("blocks.0.n1.weight", names); // LayerNorm scale
        Assert.Contains("blocks.1.a.q.bias", names);
        Assert.IsFalse(names.Any(n => prepared.Graph.Initializers[n].ElementType != TensorElementType.Float));
        Assert.IsFalse(names.Any(n => prepared.Graph.Initializers[n].ElementCount < 2));
        // every Gemm/MatMul weight of the model is trainable
        foreach (var node in prepared.Graph.Nodes.Where(n => n.OpType is "Gemm" or "MatMul" && prepared.Graph.IsInitializer(n.Inputs[1])))
            Assert.Contains(node.Inputs[1], names);
    }

    private static void AssertMatchesOrt(OnnxModel model, GraphModule module)
    {
        var data = QatTestData.Test(Samples);
        using var runner = new ModelRunner(model);
        var expected = runner.Run(data.Images, Samples);
        module.eval();
        using var noGrad = no_grad();
        using var x = tensor(data.Images, Samples, 1, 28, 28);
        using var y = module.forward(x);
        var actual = y.data<float>().ToArray();

        Assert.HasCount(expected.Length, actual);
        float scale = expected.Max(MathF.Abs);
        float worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.IsLessThanOrEqualTo(1e-4f * scale, worst, $"max |torch − ORT| = {worst} on outputs up to {scale}");
    }
}
