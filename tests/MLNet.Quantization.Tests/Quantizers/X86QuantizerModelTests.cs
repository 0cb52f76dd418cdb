using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class X86QuantizerModelTests
{
    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");

    private static QuantizationAnnotations Annotate(OnnxGraph graph, QuantizationConfig config)
    {
        // X86InductorQuantizer's recipe as such: the stems' narrow convs (1 input channel) are annotated too.
        var quantizer = new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(config);
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

    /// <summary>The graph as the flow annotates it: constants (initializer → Transpose, Constant → Cast) and BatchNorm folded.</summary>
    private static OnnxGraph LoadFolded(string name)
    {
        var graph = OnnxGraph.Load(ModelPath(name));
        ConstantFoldingPass.Run(graph);
        BatchNormFoldingPass.Run(graph);
        return graph;
    }

    private static void AssertSharesInput(QuantizationAnnotations annotations, OnnxNode node, QuantizationSpec act)
    {
        var a = annotations.Get(node)!;
        Assert.AreEqual(act, a.InputQSpecMap[0], node.Name);
        Assert.AreEqual(new SharedQuantizationSpec(QuantizationEdge.Input(node, 0)), a.OutputQSpec, node.Name);
    }

    [TestMethod]
    public void FoldedFmnistCnnIsFullyAnnotated()
    {
        var graph = LoadFolded("fmnist_cnn");
        var config = X86Quantizer.GetDefaultConfig();
        var act = config.InputActivation!;
        var annotations = Annotate(graph, config);
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "BatchNormalization"));

        // c3 + Add + Relu_2: the residual (Relu_1 output) is the Add's extra input and is quantized.
        var add = graph.Node("/Add");
        int extra = add.Inputs[0] == "/Relu_1_output_0" ? 0 : 1;
        Assert.AreEqual("/Relu_1_output_0", add.Inputs[extra]);
        Assert.AreEqual(act, annotations.Get(add)!.InputQSpecMap[extra]);
        Assert.HasCount(1, annotations.Get(add)!.InputQSpecMap);

        // Conv + Relu fusions claim the Relus; pools and Flatten run int8 in, int8 out.
        foreach (var relu in new[] { "/Relu", "/Relu_1", "/Relu_2", "/Relu_3" })
            Assert.IsTrue(annotations.IsAnnotated(graph.Node(relu)), relu);
        foreach (var name in new[] { "/MaxPool", "/MaxPool_1", "/Flatten" })
            AssertSharesInput(annotations, graph.Node(name), act);

        // The folded BatchNorm gives every Conv a bias, quantized as int32.
        foreach (var name in new[] { "/c1/Conv", "/c2/Conv", "/c3/Conv", "/fc1/Gemm", "/fc2/Gemm" })
            Assert.AreEqual(DerivedQuantizationSpec.Bias(graph.Node(name)), annotations.Get(graph.Node(name))!.InputQSpecMap[2], name);

        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    public void FoldedFmnistMobileFusesRelu6AndPropagatesThroughTheHead()
    {
        var graph = LoadFolded("fmnist_mobile");
        var config = X86Quantizer.GetDefaultConfig();
        var annotations = Annotate(graph, config);

        // Relu → Clip (relu6, bounds folded from Constant → Cast) after each of the 9 convs.
        Assert.AreEqual(9, graph.Nodes.Count(n => n.OpType == "Conv"));
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Relu" or "Clip"))
        {
            Assert.IsTrue(annotations.IsAnnotated(node), node.Name);
            Assert.IsFalse(annotations.Get(node)!.QuantizesAnything, node.Name);
        }

        foreach (var conv in graph.Nodes.Where(n => n.OpType == "Conv"))
        {
            var a = annotations.Get(conv)!;
            Assert.AreEqual(config.InputActivation, a.InputQSpecMap[0], conv.Name);
            Assert.AreEqual(0, ((QuantizationSpec)a.InputQSpecMap[1]).ChannelAxis, conv.Name); // depthwise too: [C, 1, 3, 3]
        }

        AssertSharesInput(annotations, graph.Node("/GlobalAveragePool"), config.InputActivation!);
        AssertSharesInput(annotations, graph.Node("/Flatten"), config.InputActivation!);
        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    public void FmnistRowTfDynamicQuantizesTheLinearsAndQkvShareOneInput()
    {
        var graph = LoadFolded("fmnist_rowtf"); // folds initializer → Transpose into [K, N] weights
        var config = X86Quantizer.GetDefaultConfig(isDynamic: true);
        var annotations = Annotate(graph, config);

        for (int b = 0; b < 2; b++)
        {
            var qkv = new[] { "q", "k", "v" }.Select(p => graph.Node($"/blocks/blocks.{b}/a/{p}/MatMul")).ToArray();
            // One input tensor (the LayerNorm output) feeds q, k and v with equal dynamic specs: one
            // DynamicQuantizeLinear for the three.
            Assert.AreEqual(1, qkv.Select(n => n.Inputs[0]).Distinct().Count());
            Assert.AreEqual($"/blocks/blocks.{b}/n1/Add_1_output_0", qkv[0].Inputs[0]);
            foreach (var node in qkv)
            {
                var a = annotations.Get(node)!;
                Assert.HasCount(2, a.InputQSpecMap, node.Name);
                var act = (QuantizationSpec)a.InputQSpecMap[0];
                Assert.IsTrue(act.IsDynamic, node.Name);
                Assert.AreEqual(config.InputActivation, act, node.Name);
                var weight = (QuantizationSpec)a.InputQSpecMap[1];
                Assert.AreEqual(1, weight.ChannelAxis, node.Name); // folded weight [K, N] = [96, 96]: channels on axis 1
                Assert.AreEqual(QScheme.PerChannelSymmetric, weight.QScheme, node.Name);
            }

            // Attention products of two activations are never dynamically quantized.
            foreach (var name in new[] { $"/blocks/blocks.{b}/a/MatMul", $"/blocks/blocks.{b}/a/MatMul_1" })
            {
                Assert.IsNull(annotations.Get(graph.Node(name)), name);
                Assert.Contains("constant weight", annotations.SkippedNodes.Single(s => s.NodeName == name).Reason);
            }
        }

        // emb + 2 blocks × (q, k, v, o, f1, f2) + head = 14 linears, nothing else.
        var quantized = annotations.All.Where(p => p.Value.QuantizesAnything).Select(p => p.Key).ToList();
        Assert.HasCount(14, quantized);
        Assert.AreEqual(13, quantized.Count(n => n.OpType == "MatMul"));
        Assert.AreEqual(0, ((QuantizationSpec)annotations.Get(graph.Node("/head/Gemm"))!.InputQSpecMap[1]).ChannelAxis); // transB = 1
        Assert.IsFalse(annotations.Get(graph.Node("/head/Gemm"))!.InputQSpecMap.ContainsKey(2), "dynamic: bias stays float");
    }
}
