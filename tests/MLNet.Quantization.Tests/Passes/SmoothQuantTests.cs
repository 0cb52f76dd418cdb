using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Passes;

/// <summary><see cref="SmoothQuantPass"/>: the scales on hand-worked numbers, and the float function kept (ORT before and after).</summary>
[TestClass]
public sealed class SmoothQuantTests
{
    private const int Tokens = 3, Channels = 4, Outputs = 2;

    /// <summary>
    /// x [N, 3, 4] → Mul(γ) → Add(β) → X read by two MatMuls (q, k) and summed → y; with <paramref name="relu"/> X is
    /// Relu(x) instead (no affine to fold into), read by one MatMul.
    /// </summary>
    private static OnnxGraph Model(bool relu, bool layerNormalization = false)
    {
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "smooth" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = layerNormalization ? 17 : 13 });
        var input = TinyModels.FloatInfo("x", 1, Tokens, Channels);
        input.Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "N" };
        model.Graph.Input.Add(input);
        model.Graph.Initializer.Add(TinyModels.FloatTensor("gamma", [Channels], [1f, 2f, 0.5f, 3f]));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("beta", [Channels], [0.1f, -0.2f, 0.3f, 0f]));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("wq", [Channels, Outputs], FloatFunction.Random(Channels * Outputs, 1)));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("wk", [Channels, Outputs], FloatFunction.Random(Channels * Outputs, 2, 4f)));
        if (layerNormalization)
        {
            model.Graph.Node.Add(new NodeProto { Name = "norm", OpType = "LayerNormalization", Input = { "x", "gamma", "beta" }, Output = { "X" } });
            model.Graph.Node.Add(new NodeProto { Name = "q", OpType = "MatMul", Input = { "X", "wq" }, Output = { "y" } });
        }
        else if (relu)
        {
            model.Graph.Node.Add(new NodeProto { Name = "relu", OpType = "Relu", Input = { "x" }, Output = { "X" } });
            model.Graph.Node.Add(new NodeProto { Name = "q", OpType = "MatMul", Input = { "X", "wq" }, Output = { "y" } });
        }
        else
        {
            model.Graph.Node.Add(new NodeProto { Name = "gamma_mul", OpType = "Mul", Input = { "x", "gamma" }, Output = { "scaled" } });
            model.Graph.Node.Add(new NodeProto { Name = "beta_add", OpType = "Add", Input = { "scaled", "beta" }, Output = { "X" } });
            model.Graph.Node.Add(new NodeProto { Name = "q", OpType = "MatMul", Input = { "X", "wq" }, Output = { "q_out" } });
            model.Graph.Node.Add(new NodeProto { Name = "k", OpType = "MatMul", Input = { "X", "wk" }, Output = { "k_out" } });
            model.Graph.Node.Add(new NodeProto { Name = "sum", OpType = "Add", Input = { "q_out", "k_out" }, Output = { "y" } });
        }

        model.Graph.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        return OnnxGraph.FromModel(OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(model)));
    }

    [TestMethod]
    public void TheScalesFollowThePaperOnHandWorkedNumbers()
    {
        // α = 0.5: s = √a / √w; a = 16, w = 4 → 2; a = 1, w = 4 → 0.5; a zero or w zero → 1
        CollectionAssert.AreEqual(new[] { 2.0, 0.5, 1, 1 }, SmoothQuantPass.Scales([16f, 1f, 0f, 9f], [4.0, 4.0, 3.0, 0.0], 0.5));
        // α = 1: s = a (all of the range moves into the weight); α = 0.75: 16^0.75 / 4^0.25 = 8 / √2
        CollectionAssert.AreEqual(new[] { 16.0 }, SmoothQuantPass.Scales([16f], [4.0], 1));
        Assert.AreEqual(8 / Math.Sqrt(2), SmoothQuantPass.Scales([16f], [4.0], 0.75)[0], 1e-12);
    }

    [TestMethod]
    public void QAndKShareOneScaleFoldedIntoGammaAndBetaOverTheLargestWeight()
    {
        var graph = Model(relu: false);
        var before = FloatFunction.Outputs(graph);
        graph.TryGetConstant("wq", out var wq);
        graph.TryGetConstant("wk", out var wk);
        float[] q = wq!.ToFloatArray(), k = wk!.ToFloatArray();
        float[] maxima = [8f, 1f, 2f, 0f];
        var outcome = SmoothQuantPass.Run(graph, new Dictionary<string, float[]> { ["X"] = maxima }, 0.5);
        Assert.AreEqual(new SmoothQuantPass.Outcome(2, 1), outcome);

        // s_j = √(max|X_j|) / √(max over q and k of |W_j|); channel 3 never seen: s = 1
        var expected = new double[Channels];
        for (int j = 0; j < Channels; j++)
        {
            double w = Enumerable.Range(0, Outputs).Max(n => Math.Max(Math.Abs(q[j * Outputs + n]), Math.Abs(k[j * Outputs + n])));
            expected[j] = maxima[j] > 0 ? Math.Sqrt(maxima[j]) / Math.Sqrt(w) : 1;
        }

        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Mul" && n.Name != "gamma_mul"), "folded into γ and β: no Mul inserted");
        var mul = graph.Nodes.Single(n => n.OpType == "Mul");
        graph.TryGetConstant(mul.Inputs[1], out var gamma);
        float[] gammaBefore = [1f, 2f, 0.5f, 3f];
        for (int j = 0; j < Channels; j++)
            Assert.AreEqual(gammaBefore[j] / expected[j], gamma!.ToFloatArray()[j], 1e-6, $"γ channel {j}");
        var qNode = graph.Nodes.Single(n => n.Name == "q");
        graph.TryGetConstant(qNode.Inputs[1], out var smoothedQ);
        for (int j = 0; j < Channels; j++)
            Assert.AreEqual(q[j * Outputs] * expected[j], smoothedQ!.ToFloatArray()[j * Outputs], 1e-6, $"W_q row {j}");
        Assert.AreEqual("X" + SmoothQuantPass.Suffix, qNode.Inputs[0], "the smoothed activation has a new name");
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph));
    }

    [TestMethod]
    public void AnOnnxLayerNormalizationTakesTheScaleInItsScaleAndBias()
    {
        var graph = Model(relu: false, layerNormalization: true);
        var before = FloatFunction.Outputs(graph);
        var outcome = SmoothQuantPass.Run(graph, new Dictionary<string, float[]> { ["X"] = [4f, 0.25f, 2f, 1f] }, 0.5);
        Assert.AreEqual(1, outcome.Layers);
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Mul"), "folded into the LayerNormalization: no Mul inserted");
        var norm = graph.Nodes.Single(n => n.OpType == "LayerNormalization");
        Assert.AreEqual(norm.Outputs[0], graph.Nodes.Single(n => n.Name == "q").Inputs[0]);
        Assert.AreNotEqual("gamma", norm.Inputs[1]);
        Assert.AreNotEqual("beta", norm.Inputs[2]);
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph));
    }

    [TestMethod]
    public void AComputedActivationGetsAMulByTheInverseScale()
    {
        var graph = Model(relu: true);
        var before = FloatFunction.Outputs(graph);
        var outcome = SmoothQuantPass.Run(graph, new Dictionary<string, float[]> { ["X"] = [3f, 0.5f, 9f, 1f] }, 0.5);
        Assert.AreEqual(1, outcome.Layers);
        var inserted = graph.Nodes.Single(n => n.OpType == "Mul");
        Assert.AreEqual("X", inserted.Inputs[0]);
        Assert.AreEqual(inserted.Outputs[0], graph.Nodes.Single(n => n.Name == "q").Inputs[0]);
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph));
    }

    [TestMethod]
    public void ActivationsWithoutMaximaOrWithOtherChannelCountsAreLeftAlone()
    {
        var graph = Model(relu: false);
        Assert.AreEqual(new SmoothQuantPass.Outcome(0, 0), SmoothQuantPass.Run(graph, new Dictionary<string, float[]>(), 0.5));
        Assert.AreEqual(new SmoothQuantPass.Outcome(0, 0), SmoothQuantPass.Run(graph, new Dictionary<string, float[]> { ["X"] = [1f, 2f] }, 0.5));
        Assert.AreEqual("X", graph.Nodes.Single(n => n.Name == "q").Inputs[0]);
    }
}
