using Google.Protobuf;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Passes;

[TestClass]
public sealed class PassesTests
{
    private static float MaxAbsDiff(OnnxModel a, OnnxModel b, int samples = 64)
    {
        using var ra = new ModelRunner(a);
        using var rb = new ModelRunner(b);
        var x = TestData.Test.Images.AsSpan(0, samples * 784);
        var ya = ra.Run(x, samples);
        var yb = rb.Run(x, samples);
        return ya.Zip(yb, (p, q) => Math.Abs(p - q)).Max();
    }

    [TestMethod]
    public void ConstantFoldingTurnsTransposedWeightsIntoConstants()
    {
        var original = OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
        var g = OnnxGraph.FromModel(original);
        var matmulsWithTransposedWeight = g.Nodes.Count(n => n.OpType == "MatMul" && g.GetProducer(n.Inputs[1]) is { OpType: "Transpose" } t && g.IsInitializer(t.Inputs[0]));
        Assert.IsGreaterThan(0, matmulsWithTransposedWeight, "precondition: the exporter's initializer → Transpose → MatMul");
        int folded = ConstantFoldingPass.Run(g);
        Assert.IsGreaterThan(0, folded);
        Assert.IsFalse(g.Nodes.Any(n => n.OpType == "Constant"));
        Assert.AreEqual(matmulsWithTransposedWeight, g.Nodes.Count(n => n.OpType == "MatMul" && g.IsInitializer(n.Inputs[1])), "each such MatMul now has a constant weight");
        Assert.IsLessThan(1e-5f, MaxAbsDiff(original, g.ToModel()));
    }

    [TestMethod]
    public void ConstantFoldingMakesClipBoundsInitializers()
    {
        var original = OnnxModel.Load(TestPaths.Model("fmnist_mobile"));
        var g = OnnxGraph.FromModel(original);
        ConstantFoldingPass.Run(g);
        var clips = g.Nodes.Where(n => n.OpType == "Clip").ToList();
        Assert.HasCount(9, clips);
        Assert.IsTrue(clips.All(c => g.IsInitializer(c.Inputs[1]) && g.IsInitializer(c.Inputs[2])));
        Assert.AreEqual(6f, g.Initializers[clips[0].Inputs[2]].ToFloatArray()[0]);
        Assert.IsLessThan(1e-5f, MaxAbsDiff(original, g.ToModel()));
    }

    [TestMethod]
    public void BatchNormFoldingKeepsTheConvNodeAndItsName()
    {
        // fmnist_mobile's convs have no bias input: folding must add one to the same node, not rebuild it under a new name
        var g = OnnxGraph.FromModel(OnnxModel.Load(TestPaths.Model("fmnist_mobile")));
        var convNames = g.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Name).ToList();
        Assert.IsTrue(g.Nodes.Where(n => n.OpType == "Conv").Any(n => n.Inputs.Count < 3), "precondition: a Conv without a bias input");
        ConstantFoldingPass.Run(g);
        int folded = BatchNormFoldingPass.Run(g);
        Assert.IsGreaterThan(0, folded);
        Assert.IsFalse(g.Nodes.Any(n => n.OpType == "BatchNormalization"));
        var after = g.Nodes.Where(n => n.OpType == "Conv").ToList();
        CollectionAssert.AreEquivalent(convNames, after.Select(n => n.Name).ToList());
        Assert.IsTrue(after.All(n => n.Inputs.Count == 3 && g.IsInitializer(n.Inputs[2])));
    }

    [TestMethod]
    public void BatchNormFoldingWorkedExample()
    {
        // 1×1 conv, 1 channel, w = 2, b = 1; BN γ = 3, β = 0.5, mean = 1, var = 3, ε = 1
        // factor = 3/√(3 + 1) = 1.5 → w' = 3, b' = (1 − 1)·1.5 + 0.5 = 0.5. Input 4 → 4·3 + 0.5 = 12.5 (= BN(4·2 + 1) = (9 − 1)·1.5 + 0.5).
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "convbn" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model.Graph.Input.Add(TinyModels.FloatInfo("x", 1, 1, 1, 1));
        model.Graph.Output.Add(TinyModels.FloatInfo("y", 1, 1, 1, 1));
        foreach (var (name, v) in new[] { ("w", 2f), ("b", 1f), ("g", 3f), ("beta", 0.5f), ("m", 1f), ("var", 3f) })
            model.Graph.Initializer.Add(TinyModels.FloatTensor(name, name == "w" ? [1, 1, 1, 1] : [1], [v]));
        model.Graph.Node.Add(new NodeProto { Name = "conv", OpType = "Conv", Input = { "x", "w", "b" }, Output = { "c" } });
        var bn = new NodeProto { Name = "bn", OpType = "BatchNormalization", Input = { "c", "g", "beta", "m", "var" }, Output = { "y" } };
        bn.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = 1f });
        model.Graph.Node.Add(bn);
        var g = OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray()));
        // the BN output is the graph output, so the pass must not rename it: it keeps BN in that case
        Assert.AreEqual(0, BatchNormFoldingPass.Run(g));

        // with a consumer after BN, the fold happens
        model.Graph.Output[0].Name = "z";
        model.Graph.Node.Add(new NodeProto { Name = "id", OpType = "Identity", Input = { "y" }, Output = { "z" } });
        g = OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray()));
        Assert.AreEqual(1, BatchNormFoldingPass.Run(g));
        var conv = g.Nodes.Single(n => n.OpType == "Conv");
        Assert.AreEqual(3f, g.Initializers[conv.Inputs[1]].ToFloatArray()[0]);
        Assert.AreEqual(0.5f, g.Initializers[conv.Inputs[2]].ToFloatArray()[0]);
        using var runner = new ModelRunner(g.ToModel());
        Assert.AreEqual(12.5f, runner.Run([4f], 1)[0], 1e-6f);
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    public void BatchNormFoldingKeepsOutputs(string name)
    {
        var original = OnnxModel.Load(TestPaths.Model(name));
        var g = OnnxGraph.FromModel(original);
        ConstantFoldingPass.Run(g);
        Assert.IsGreaterThan(0, BatchNormFoldingPass.Run(g));
        Assert.IsFalse(g.Nodes.Any(n => n.OpType == "BatchNormalization"));
        Assert.IsLessThan(1e-4f, MaxAbsDiff(original, g.ToModel()));
    }

    [TestMethod]
    public void ConvFollowedByPerChannelAddGetsItAsBias()
    {
        // mnist-8 writes each Conv bias as Conv → Add(constant [C,1,1]); the MatMul's bias Add must stay
        var original = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "TestData", "mnist", "mnist-8.onnx"));
        var g = OnnxGraph.FromModel(original);
        Assert.AreEqual(3, g.Nodes.Count(n => n.OpType == "Add"));
        Assert.AreEqual(2, BatchNormFoldingPass.Run(g));
        Assert.AreEqual(1, g.Nodes.Count(n => n.OpType == "Add"));
        Assert.IsTrue(g.Nodes.Where(n => n.OpType == "Conv").All(c => c.Inputs.Count == 3 && g.IsInitializer(c.Inputs[2])));
        Assert.IsLessThan(1e-4f, MaxAbsDiff(original, g.ToModel(), samples: 8));
    }

    /// <summary>
    /// Conv → Mul(a) → Add(c) → Relu, with a and c one value for all channels (PaddleOCR's learnable affine block) or
    /// one per channel: <paramref name="perChannel"/>; the constant is the Mul's first input, as Paddle2ONNX writes it.
    /// </summary>
    private static ModelProto ConvAffineModel(bool perChannel)
    {
        var rng = new Random(3);
        float[] Values(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        var graph = new GraphProto { Name = "conv_affine" };
        graph.Input.Add(TinyModels.FloatInfo("x", 2, 3, 8, 8));
        graph.Output.Add(TinyModels.FloatInfo("y", 2, 4, 8, 8));
        graph.Initializer.Add(TinyModels.FloatTensor("w", [4, 3, 3, 3], Values(108, 0.5f)));
        graph.Initializer.Add(TinyModels.FloatTensor("b", [4], Values(4, 0.2f)));
        long[] dims = perChannel ? [1, 4, 1, 1] : [1];
        graph.Initializer.Add(TinyModels.FloatTensor("a", dims, perChannel ? [2.5f, -0.75f, 13f, 0.01f] : [2.5f]));
        graph.Initializer.Add(TinyModels.FloatTensor("c", dims, perChannel ? [-0.7f, 0.3f, 1.5f, -4f] : [-0.7f]));
        var conv = new NodeProto { Name = "conv", OpType = "Conv", Input = { "x", "w", "b" }, Output = { "t" } };
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        graph.Node.Add(conv);
        graph.Node.Add(new NodeProto { Name = "scale", OpType = "Mul", Input = { "a", "t" }, Output = { "u" } });
        graph.Node.Add(new NodeProto { Name = "shift", OpType = "Add", Input = { "u", "c" }, Output = { "v" } });
        graph.Node.Add(new NodeProto { Name = "relu", OpType = "Relu", Input = { "v" }, Output = { "y" } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ConvFollowedByConstantScaleAndShiftFoldsIntoIt(bool perChannel)
    {
        var original = OnnxModel.Load(ConvAffineModel(perChannel).ToByteArray());
        var g = OnnxGraph.FromModel(original);
        // the scale folds either way; a single shift for all channels stays an Add (it would move the quantized range off zero)
        Assert.AreEqual(perChannel ? 2 : 1, BatchNormFoldingPass.Run(g));
        Assert.IsFalse(g.Nodes.Any(n => n.OpType == "Mul"));
        Assert.AreEqual(perChannel ? 0 : 1, g.Nodes.Count(n => n.OpType == "Add"));
        Assert.AreEqual("conv", g.Nodes.Single(n => n.OpType == "Conv").Name);

        using var ra = new ModelRunner(original);
        using var rb = new ModelRunner(g.ToModel());
        var rng = new Random(5);
        var x = Enumerable.Range(0, 2 * 3 * 8 * 8).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var ya = ra.Run(x, 2);
        var yb = rb.Run(x, 2);
        float scale = ya.Max(Math.Abs);
        Assert.IsLessThan(1e-5f * scale, ya.Zip(yb, (p, q) => Math.Abs(p - q)).Max());
    }

    [TestMethod]
    public void ConstantMulOfAnotherShapeStays()
    {
        // a Mul by a constant of another shape than one per channel is not a scale of the Conv's output channels
        var proto = ConvAffineModel(perChannel: false);
        proto.Graph.Initializer.Remove(proto.Graph.Initializer.Single(t => t.Name == "a"));
        proto.Graph.Initializer.Add(TinyModels.FloatTensor("a", [1, 1, 1, 8], [.. Enumerable.Range(1, 8).Select(i => i / 4f)]));
        var g = OnnxGraph.FromModel(OnnxModel.Load(proto.ToByteArray()));
        Assert.AreEqual(0, BatchNormFoldingPass.Run(g));
        Assert.AreEqual(1, g.Nodes.Count(n => n.OpType == "Mul"));
    }
}
