using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Passes;

/// <summary><see cref="CrossLayerEqualizationPass"/>: the scales on hand-worked numbers, and the float function kept (ORT before and after).</summary>
[TestClass]
public sealed class CrossLayerEqualizationTests
{
    /// <summary>A conv layer of a test chain: weight dims [O, C/group, k, k], a bias or not, and what follows it.</summary>
    private sealed record Layer(string Name, long[] Dims, float[] Weight, float[]? Bias = null, long Group = 1, string? Activation = null, int Pad = 0);

    /// <summary>x [1, channels, size, size] → the layers in sequence → y; "Relu6" is Clip(0, 6), "ClipRelu" Clip(0, none).</summary>
    private static OnnxGraph Chain(int channels, int size, params Layer[] layers)
    {
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "chain" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model.Graph.Input.Add(TinyModels.FloatInfo("x", 1, channels, size, size));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("zero", [], [0f]));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("six", [], [6f]));
        string current = "x";
        foreach (var layer in layers)
        {
            model.Graph.Initializer.Add(TinyModels.FloatTensor(layer.Name + ".w", layer.Dims, layer.Weight));
            var conv = new NodeProto { Name = layer.Name, OpType = "Conv", Input = { current, layer.Name + ".w" }, Output = { layer.Name + ".out" } };
            if (layer.Bias is not null)
            {
                model.Graph.Initializer.Add(TinyModels.FloatTensor(layer.Name + ".b", [layer.Bias.Length], layer.Bias));
                conv.Input.Add(layer.Name + ".b");
            }

            conv.Attribute.Add(new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = layer.Group });
            var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
            pads.Ints.AddRange([layer.Pad, layer.Pad, layer.Pad, layer.Pad]);
            conv.Attribute.Add(pads);
            model.Graph.Node.Add(conv);
            current = layer.Name + ".out";
            if (layer.Activation is { } op)
            {
                var act = op switch
                {
                    "Relu6" => new NodeProto { OpType = "Clip", Input = { current, "zero", "six" } },
                    "ClipRelu" => new NodeProto { OpType = "Clip", Input = { current, "zero" } },
                    _ => new NodeProto { OpType = op, Input = { current } },
                };
                act.Name = layer.Name + "." + op;
                act.Output.Add(act.Name + ".out");
                model.Graph.Node.Add(act);
                current = act.Name + ".out";
            }
        }

        model.Graph.Output.Add(new ValueInfoProto { Name = current, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        return OnnxGraph.FromModel(OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(model)));
    }

    private static float[] Weight(OnnxGraph graph, string conv)
    {
        graph.TryGetConstant(graph.Nodes.Single(n => n.Name == conv).Inputs[1], out var w);
        return w!.ToFloatArray();
    }

    [TestMethod]
    public void ScalesOfAHandWorkedPair()
    {
        // r1 = [2, 0.5], r2 = [8, 0.125]: s = √(r1·r2)/r2 = [√16/8, √0.0625/0.125] = [0.5, 2]
        var scales = CrossLayerEqualizationPass.Scales([2, 0.5], [8, 0.125]);
        Assert.AreEqual(0.5, scales[0], 1e-12);
        Assert.AreEqual(2, scales[1], 1e-12);
        // nothing to balance: a zero range on either side keeps the channel
        CollectionAssert.AreEqual(new double[] { 1, 1 }, CrossLayerEqualizationPass.Scales([0, 3], [1, 0]));
    }

    [TestMethod]
    public void HandWorkedPairIsEqualizedAndComputesTheSameFunction()
    {
        // conv1 1×1, 2 outputs: w1 = [2, −0.5] (ranges 2, 0.5), b1 = [1, −1]; Relu; conv2 1×1, 1 output: w2 = [8, 0.125]
        // s = [0.5, 2] → w1' = w1/s = [4, −0.25], b1' = [2, −0.5], w2' = w2·s = [4, 0.25]: both ranges √(r1·r2) = [4, 0.25]
        var graph = Chain(1, 3,
            new Layer("conv1", [2, 1, 1, 1], [2f, -0.5f], [1f, -1f], Activation: "Relu"),
            new Layer("conv2", [1, 2, 1, 1], [8f, 0.125f]));
        var before = FloatFunction.Outputs(graph, 8);
        var outcome = CrossLayerEqualizationPass.Run(graph);
        Assert.AreEqual(1, outcome.Pairs);
        Assert.AreEqual(2, outcome.Iterations, "the second sweep finds every scale at 1");
        CollectionAssert.AreEqual(new[] { 4f, -0.25f }, Weight(graph, "conv1"));
        CollectionAssert.AreEqual(new[] { 4f, 0.25f }, Weight(graph, "conv2"));
        graph.TryGetConstant(graph.Nodes.Single(n => n.Name == "conv1").Inputs[2], out var bias);
        CollectionAssert.AreEqual(new[] { 2f, -0.5f }, bias!.ToFloatArray());
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph, 8));
    }

    [TestMethod]
    public void DepthwiseSeparableChainConvergesToEqualRangesAndKeepsTheFunction()
    {
        // pw 4→8 (Relu) → depthwise 3×3 on 8 channels (Relu) → pw 8→6: two pairs sharing the depthwise conv
        var graph = Chain(4, 6,
            new Layer("pw1", [8, 4, 1, 1], FloatFunction.Random(32, 1, 2f), FloatFunction.Random(8, 2), Activation: "Relu"),
            new Layer("dw", [8, 1, 3, 3], FloatFunction.Random(72, 3, 0.3f).Select((v, i) => v * (1 + i / 9)).ToArray(), FloatFunction.Random(8, 4), Group: 8, Activation: "Relu", Pad: 1),
            new Layer("pw2", [6, 8, 1, 1], FloatFunction.Random(48, 5, 0.5f), FloatFunction.Random(6, 6)));
        var before = FloatFunction.Outputs(graph, 16);
        var outcome = CrossLayerEqualizationPass.Run(graph);
        Assert.AreEqual(2, outcome.Pairs);
        Assert.IsGreaterThan(2, outcome.Iterations, "a chain needs several sweeps");
        Assert.IsLessThan(CrossLayerEqualizationPass.MaxIterations, outcome.Iterations, "and converges within the bound");
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph, 16));

        // at convergence each pair's ranges agree channel by channel
        var pw1 = Weight(graph, "pw1");
        var dw = Weight(graph, "dw");
        var pw2 = Weight(graph, "pw2");
        for (int c = 0; c < 8; c++)
        {
            double r1 = pw1.Skip(c * 4).Take(4).Max(Math.Abs);
            double rdw = dw.Skip(c * 9).Take(9).Max(Math.Abs);
            double r2 = Enumerable.Range(0, 6).Max(o => Math.Abs(pw2[o * 8 + c]));
            Assert.AreEqual(1, r1 / rdw, 1e-3, $"pw1 → dw, channel {c}");
            Assert.AreEqual(1, rdw / r2, 1e-3, $"dw → pw2, channel {c}");
        }
    }

    [TestMethod]
    public void GroupedSecondConvReadsEachInputChannelThroughItsGroup()
    {
        // conv2 has 2 groups of 2 input channels and 3 outputs per group
        var graph = Chain(2, 4,
            new Layer("conv1", [4, 2, 1, 1], FloatFunction.Random(8, 11, 4f), Activation: "LeakyRelu"),
            new Layer("conv2", [6, 2, 3, 3], FloatFunction.Random(108, 12, 0.2f), FloatFunction.Random(6, 13), Group: 2, Pad: 1));
        var before = FloatFunction.Outputs(graph, 8);
        Assert.AreEqual(1, CrossLayerEqualizationPass.Run(graph).Pairs);
        FloatFunction.AssertSame(before, FloatFunction.Outputs(graph, 8));
    }

    [TestMethod]
    public void Relu6AndASharedOutputEndAChainButAClipWithoutMaxDoesNot()
    {
        // Clip(x/s, 0, 6) ≠ Clip(x, 0, 6)/s, so a Relu6 between the convs leaves them as they are
        static OnnxGraph PairThrough(string activation) => Chain(2, 3,
            new Layer("conv1", [2, 2, 1, 1], [4f, 1f, 0.1f, 0.2f], Activation: activation),
            new Layer("conv2", [2, 2, 1, 1], [0.1f, 2f, 1f, 3f]));
        var relu6 = PairThrough("Relu6");
        Assert.AreEqual(0, CrossLayerEqualizationPass.Run(relu6).Pairs);
        CollectionAssert.AreEqual(new[] { 4f, 1f, 0.1f, 0.2f }, Weight(relu6, "conv1"));

        var clipRelu = PairThrough("ClipRelu");
        var before = FloatFunction.Outputs(clipRelu, 8);
        Assert.AreEqual(1, CrossLayerEqualizationPass.Run(clipRelu).Pairs);
        FloatFunction.AssertSame(before, FloatFunction.Outputs(clipRelu, 8));

        // a Conv whose output is also read elsewhere is no pair
        var shared = PairThrough("Relu");
        shared.AddNode("Relu", [shared.Nodes.Single(n => n.Name == "conv1").Outputs[0]], ["side"]);
        Assert.IsEmpty(CrossLayerEqualizationPass.FindPairs(shared));
    }

    [TestMethod]
    public void FashionMnistModelsComputeTheSameFunctionAfterPrepare()
    {
        // the prepared float graph with and without equalization, on real Fashion-MNIST images
        foreach (string name in new[] { "fmnist_cnn", "fmnist_mobile" })
        {
            var model = OnnxModel.Load(TestPaths.Model(name));
            var plain = QuantizationFlow.PrepareFloatGraph(model, new PrepareOptions());
            var equalized = QuantizationFlow.PrepareFloatGraph(model, new PrepareOptions { CrossLayerEqualization = true });
            using var a = new ModelRunner(plain.ToModel());
            using var b = new ModelRunner(equalized.ToModel());
            var x = TestData.Test.Images.AsSpan(0, 256 * 784);
            var ya = a.Run(x, 256);
            var yb = b.Run(x, 256);
            double worst = ya.Zip(yb, (p, q) => Math.Abs(p - q)).Max();
            Assert.IsLessThan(1e-4 * Math.Max(1, ya.Max(Math.Abs)), worst, $"{name}: largest logit difference {worst}");
        }
    }
}
