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

    /// <summary>
    /// Folds the exporter's <c>initializer → Transpose</c> weights of fmnist_rowtf by hand (the flow runs the general
    /// ConstantFoldingPass first): out[j, i] = in[i, j].
    /// </summary>
    private static void FoldInitializerTransposes(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Transpose").ToList())
        {
            if (!graph.TryGetConstant(node.Inputs[0], out var weight) || weight.Dims.Count != 2)
                continue;
            var perm = node.GetInts("perm");
            Assert.IsTrue(perm.Count == 0 || perm.SequenceEqual([1L, 0L]));
            int rows = (int)weight.Dims[0], cols = (int)weight.Dims[1];
            var data = weight.ToFloatArray();
            var transposed = new float[data.Length];
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                    transposed[(j * rows) + i] = data[(i * cols) + j];
            }

            string name = graph.AddInitializer(TensorData.FromFloats(node.Outputs[0] + "_folded", [cols, rows], transposed));
            graph.ReplaceAllUses(node.Outputs[0], name);
            graph.RemoveNode(node);
        }
    }

    [TestMethod]
    public void FmnistRowTfDynamicQuantizesTheLinearsAndQkvShareOneInput()
    {
        var graph = OnnxGraph.Load(ModelPath("fmnist_rowtf"));
        FoldInitializerTransposes(graph);
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
