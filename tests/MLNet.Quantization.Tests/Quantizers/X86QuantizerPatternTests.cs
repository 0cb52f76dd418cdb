using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class X86QuantizerPatternTests
{
    private static readonly QuantizationConfig Static = X86Quantizer.GetDefaultConfig();
    private static readonly QuantizationConfig Dynamic = X86Quantizer.GetDefaultConfig(isDynamic: true);

    private static QuantizationAnnotations Annotate(OnnxGraph graph, X86Quantizer quantizer)
    {
        // These graphs check X86InductorQuantizer's recipe on small convs (1-3 input channels); the narrow-conv
        // performance rule, which would keep those in float, has its own tests.
        quantizer.KeepNarrowConvsInFloat = false;
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations); // every annotation the recipe makes must also validate
        return annotations;
    }

    private static QuantizationAnnotations AnnotateStatic(OnnxGraph graph) => Annotate(graph, new X86Quantizer().SetGlobal(Static));

    /// <summary>The weight spec expected on an operator whose output channels lie on <paramref name="axis"/>.</summary>
    private static QuantizationSpec WeightOnAxis(int axis) =>
        new(QuantDataType.Int8, QScheme.PerChannelSymmetric, -128, 127, axis, observerFactory: Static.Weight!.ObserverFactory, eps: QuantizationSpec.WeightEps);

    private static void AssertClaimedWithoutSpecs(QuantizationAnnotations annotations, OnnxNode node)
    {
        var a = annotations.Get(node);
        Assert.IsNotNull(a, $"{node.Name} should be claimed by its pattern");
        Assert.IsTrue(a.Annotated);
        Assert.IsEmpty(a.InputQSpecMap);
        Assert.IsNull(a.OutputQSpec);
        Assert.IsFalse(annotations.SkippedNodes.Any(s => s.NodeName == node.Name), $"{node.Name} is fused, not skipped");
    }

    [TestMethod]
    public void ConvReluQuantizesConvInputsAndLeavesTheOutputToConsumers()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w", 3, 2, 3, 3).Initializer("b", 3).Output("y", 1, 3, 3, 3)
            .Node("Conv", "conv", ["x", "w", "b"], ["c"])
            .Node("Relu", "relu", ["c"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        var conv = graph.Node("conv");
        var a = annotations.Get(conv)!;
        Assert.IsTrue(a.Annotated);
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0]);
        Assert.AreEqual(WeightOnAxis(0), a.InputQSpecMap[1]);
        Assert.AreEqual(DerivedQuantizationSpec.Bias(conv, 0, 1), a.InputQSpecMap[2]);
        Assert.IsNull(a.OutputQSpec, "static PTQ: a pattern's output is quantized where a consumer annotates its input");
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu"));
        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    public void UnaryFusionDoesNotNeedASoleConsumer()
    {
        // find_sequential_partitions only needs the Relu to consume the Conv output.
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w", 2, 2, 1, 1).Output("y", 1, 2, 5, 5).Output("z", 1, 2, 5, 5)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("Sigmoid", "sig", ["c"], ["z"])
            .Node("Relu", "relu", ["c"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu"));
        Assert.AreEqual("sig", annotations.SkippedNodes.Single().NodeName);
    }

    [TestMethod]
    public void QatConvBatchNormReluQuantizesThePatternOutput()
    {
        // PyTorch's QAT conv-bn patterns (BatchNorm not folded) put the output spec on the last node.
        var qat = X86Quantizer.GetDefaultConfig(isQat: true);
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w", 2, 2, 1, 1)
            .Initializer("s", 2).Initializer("b", 2).Initializer("m", 2).Initializer("v", 2).Output("y", 1, 2, 5, 5)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("BatchNormalization", "bn", ["c", "s", "b", "m", "v"], ["n"])
            .Node("Relu", "relu", ["n"], ["y"])
            .Build();
        var annotations = Annotate(graph, new X86Quantizer().SetGlobal(qat));
        Assert.AreEqual(qat.InputActivation, annotations.Get(graph.Node("conv"))!.InputQSpecMap[0]);
        AssertClaimedWithoutSpecs(annotations, graph.Node("bn"));
        var relu = annotations.Get(graph.Node("relu"))!;
        Assert.IsEmpty(relu.InputQSpecMap);
        Assert.AreEqual(qat.OutputActivation, relu.OutputQSpec);
        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    public void ConvAddReluQuantizesTheExtraAddInput()
    {
        // x → conv1 → relu1 ─┬→ conv2 → add → relu2 → y
        //                    └────────────↗ (input 1)
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w1", 2, 2, 1, 1).Initializer("w2", 2, 2, 1, 1).Output("y", 1, 2, 5, 5)
            .Node("Conv", "conv1", ["x", "w1"], ["c1"])
            .Node("Relu", "relu1", ["c1"], ["r1"])
            .Node("Conv", "conv2", ["r1", "w2"], ["c2"])
            .Node("Add", "add", ["c2", "r1"], ["s"])
            .Node("Relu", "relu2", ["s"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        var add = annotations.Get(graph.Node("add"))!;
        Assert.IsTrue(add.Annotated);
        Assert.HasCount(1, add.InputQSpecMap);
        Assert.AreEqual(Static.InputActivation, add.InputQSpecMap[1], "the extra input r1 of conv+add is quantized");
        Assert.IsNull(add.OutputQSpec);
        var conv2 = annotations.Get(graph.Node("conv2"))!;
        Assert.AreEqual(Static.InputActivation, conv2.InputQSpecMap[0]);
        Assert.AreEqual(WeightOnAxis(0), conv2.InputQSpecMap[1]);
        Assert.IsFalse(conv2.InputQSpecMap.ContainsKey(2), "no bias input, no bias spec");
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu1"));
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu2"));
    }

    [TestMethod]
    public void ConvAddWithAConstantIsNotFused()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w", 2, 2, 1, 1).Initializer("k", 1).Output("y", 1, 2, 5, 5)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("Add", "add", ["c", "k"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        Assert.IsNotNull(annotations.Get(graph.Node("conv")));
        Assert.IsNull(annotations.Get(graph.Node("add")));
        Assert.AreEqual("Add", annotations.SkippedNodes.Single().OpType);
    }

    [TestMethod]
    public void ReluThenClipAfterConvIsFusedAsRelu6()
    {
        // The exporter's relu6: Relu then Clip with constant bounds; the next Conv quantizes the Clip output.
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 5, 5).Initializer("w1", 2, 2, 1, 1).Initializer("w2", 2, 2, 1, 1)
            .Initializer("lo", []).Initializer("hi", []).Output("y", 1, 2, 5, 5)
            .Node("Conv", "conv1", ["x", "w1"], ["c1"])
            .Node("Relu", "relu", ["c1"], ["r"])
            .Node("Clip", "clip", ["r", "lo", "hi"], ["k"])
            .Node("Conv", "conv2", ["k", "w2"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu"));
        AssertClaimedWithoutSpecs(annotations, graph.Node("clip"));
        var conv2 = graph.Node("conv2");
        Assert.AreEqual("k", conv2.Inputs[0]);
        Assert.AreEqual(Static.InputActivation, annotations.Get(conv2)!.InputQSpecMap[0]);
        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    [DataRow(1L, new long[] { 4, 3 }, 0)] // transB = 1: B is [N, K], output channels on axis 0
    [DataRow(0L, new long[] { 3, 4 }, 1)] // transB = 0: B is [K, N], output channels on axis 1
    public void GemmWeightAxisFollowsTransB(long transB, long[] weightDims, int expectedAxis)
    {
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Initializer("w", weightDims).Initializer("b", 4).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w", "b"], ["y"], ("transB", transB))
            .Build();
        var annotations = AnnotateStatic(graph);
        var gemm = graph.Node("gemm");
        var a = annotations.Get(gemm)!;
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0]);
        Assert.AreEqual(WeightOnAxis(expectedAxis), a.InputQSpecMap[1]);
        Assert.AreEqual(DerivedQuantizationSpec.Bias(gemm), a.InputQSpecMap[2]);
    }

    [TestMethod]
    public void GemmBiasIsLeftFloatWhenBetaIsNotOne()
    {
        // ONNX Runtime's QGemm adds an int32 bias with scale s_a·s_b; beta ≠ 1 would change that scale.
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Initializer("w", 4, 3).Initializer("b", 4).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w", "b"], ["y"], ("transB", 1L), ("beta", 0.5f))
            .Build();
        var a = AnnotateStatic(graph).Get(graph.Node("gemm"))!;
        CollectionAssert.AreEquivalent(new[] { 0, 1 }, a.InputQSpecMap.Keys.ToArray());
    }

    [TestMethod]
    public void MatMulWithConstantWeightIsALinearOnAxisOne()
    {
        // The exporter's Linear on 3-D input: MatMul(x, W[K, N]) then Add(bias, ·); the bias Add stays float.
        var graph = new TestGraphBuilder()
            .Input("x", 2, 5, 3).Initializer("w", 3, 4).Initializer("bias", 4).Output("y", 2, 5, 4)
            .Node("MatMul", "mm", ["x", "w"], ["m"])
            .Node("Add", "badd", ["bias", "m"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        var a = annotations.Get(graph.Node("mm"))!;
        Assert.HasCount(2, a.InputQSpecMap);
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0]);
        Assert.AreEqual(WeightOnAxis(1), a.InputQSpecMap[1]);
        AssertClaimedWithoutSpecs(annotations, graph.Node("badd"));
    }

    [TestMethod]
    public void LinearPlusAddLeavesTheExtraInputFloat()
    {
        // X86InductorQuantizer: linear + add does not quantize the add's other input (accuracy).
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Input("r", 2, 4).Initializer("w", 4, 3).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w"], ["g"], ("transB", 1L))
            .Node("Add", "add", ["r", "g"], ["s"])
            .Node("Relu", "relu", ["s"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        AssertClaimedWithoutSpecs(annotations, graph.Node("add"));
        AssertClaimedWithoutSpecs(annotations, graph.Node("relu"));
        Assert.AreEqual(WeightOnAxis(0), annotations.Get(graph.Node("gemm"))!.InputQSpecMap[1]);
    }

    [TestMethod]
    public void MaxPoolAndFlattenShareTheirInputParameters()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Initializer("w", 2, 2, 1, 1).Initializer("fw", 3, 8).Output("y", 1, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("Relu", "relu", ["c"], ["r"])
            .Node("MaxPool", "pool", ["r"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Node("Flatten", "flat", ["p"], ["f"])
            .Node("Gemm", "fc", ["f", "fw"], ["y"], ("transB", 1L))
            .Build();
        var annotations = AnnotateStatic(graph);
        foreach (var name in new[] { "pool", "flat" })
        {
            var node = graph.Node(name);
            var a = annotations.Get(node)!;
            Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0], name);
            Assert.AreEqual(new SharedQuantizationSpec(QuantizationEdge.Input(node, 0)), a.OutputQSpec, name);
        }

        Assert.AreEqual(Static.InputActivation, annotations.Get(graph.Node("fc"))!.InputQSpecMap[0]);
        Assert.IsEmpty(annotations.SkippedNodes);
    }

    [TestMethod]
    public void MaxPoolOfAnUnquantizedInputStaysFloat()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Output("y", 1, 2, 2, 2)
            .Node("MaxPool", "pool", ["x"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Build();
        var annotations = AnnotateStatic(graph);
        Assert.IsNull(annotations.Get(graph.Node("pool")));
        var skipped = annotations.SkippedNodes.Single();
        Assert.AreEqual("pool", skipped.NodeName);
        Assert.Contains("does not come from a quantized pattern", skipped.Reason);
    }

    [TestMethod]
    public void FlattenWithoutAnInt8ConsumerStaysFloat()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Initializer("w", 2, 2, 1, 1).Output("y", 1, 32)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("Flatten", "flat", ["c"], ["f"])
            .Node("Softmax", "soft", ["f"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        Assert.IsNull(annotations.Get(graph.Node("flat")));
        Assert.Contains("no consumer", annotations.SkippedNodes.Single(s => s.NodeName == "flat").Reason);
    }

    [TestMethod]
    public void ReshapeAndTransposeAreInt8OnlyOnTheWayToAQuantizedConsumer()
    {
        // linear → Reshape → Transpose → linear: both layout ops share their input's parameters.
        // linear → Reshape → Softmax: the Reshape stays float (no consumer quantizes it).
        var graph = new TestGraphBuilder()
            .Input("x", 2, 6).Initializer("w1", 6, 6).Initializer("w2", 3, 4).Initializer("shape", 2).Initializer("shape2", 2).Output("y", 3, 4).Output("z", 4, 3)
            .Node("MatMul", "mm1", ["x", "w1"], ["m"])
            .Node("Reshape", "reshape", ["m", "shape"], ["r"])
            .Node("Transpose", "transpose", ["r"], ["t"], ("perm", new long[] { 1, 0 }))
            .Node("MatMul", "mm2", ["t", "w2"], ["y"])
            .Node("Reshape", "reshape2", ["m", "shape2"], ["r2"])
            .Node("Softmax", "soft", ["r2"], ["z"])
            .Build();
        var annotations = AnnotateStatic(graph);
        foreach (var name in new[] { "reshape", "transpose" })
        {
            var node = graph.Node(name);
            var a = annotations.Get(node)!;
            Assert.HasCount(1, a.InputQSpecMap, name); // the shape input of Reshape is not quantized
            Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0], name);
            Assert.AreEqual(new SharedQuantizationSpec(QuantizationEdge.Input(node, 0)), a.OutputQSpec, name);
        }

        Assert.IsNull(annotations.Get(graph.Node("reshape2")));
        Assert.Contains("no consumer", annotations.SkippedNodes.Single(s => s.NodeName == "reshape2").Reason);
    }

    [TestMethod]
    public void ConcatSharesEveryInputAndItsOutputWithTheFirstInput()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Initializer("w1", 2, 2, 1, 1).Initializer("w2", 2, 2, 1, 1).Initializer("w3", 2, 4, 1, 1).Output("y", 1, 2, 4, 4)
            .Node("Conv", "conv1", ["x", "w1"], ["a"])
            .Node("Conv", "conv2", ["x", "w2"], ["b"])
            .Node("Concat", "cat", ["a", "b"], ["c"], ("axis", 1L))
            .Node("Conv", "conv3", ["c", "w3"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        var cat = graph.Node("cat");
        var a = annotations.Get(cat)!;
        var shareFirst = new SharedQuantizationSpec(QuantizationEdge.Input(cat, 0));
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0]);
        Assert.AreEqual(shareFirst, a.InputQSpecMap[1]);
        Assert.AreEqual(shareFirst, a.OutputQSpec);
    }

    [TestMethod]
    public void UnknownOpIsSkippedWithAReason()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Initializer("w", 4, 3).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w"], ["g"], ("transB", 1L))
            .Node("Softmax", "soft", ["g"], ["y"])
            .Build();
        var annotations = AnnotateStatic(graph);
        Assert.IsNull(annotations.Get(graph.Node("soft")));
        Assert.AreEqual(new SkippedNode("soft", "Softmax", "X86Quantizer has no pattern for Softmax"), annotations.SkippedNodes.Single());
    }

    private static OnnxGraph AttentionGraph() => new TestGraphBuilder()
        .Input("q", 1, 4, 8).Input("k", 1, 8, 4).Output("y", 1, 4, 4)
        .Node("MatMul", "qk", ["q", "k"], ["y"])
        .Build();

    [TestMethod]
    public void ActivationMatMulIsOutsideTheDefaultRecipe()
    {
        // X86InductorQuantizer: aten.matmul is in quantizable_ops but not default_quantizable_ops, so a global config
        // alone does not annotate it.
        var graph = AttentionGraph();
        var annotations = AnnotateStatic(graph);
        Assert.IsNull(annotations.Get(graph.Node("qk")));
        Assert.Contains("SetOperatorType(\"MatMul\"", annotations.SkippedNodes.Single().Reason);
    }

    [TestMethod]
    public void ActivationMatMulQuantizesBothInputsWhenEnabled()
    {
        var graph = AttentionGraph();
        var annotations = Annotate(graph, new X86Quantizer().SetGlobal(Static).SetOperatorType("MatMul", Static));
        var a = annotations.Get(graph.Node("qk"))!;
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[0]);
        Assert.AreEqual(Static.InputActivation, a.InputQSpecMap[1]);
        Assert.IsNull(a.OutputQSpec);
    }

    [TestMethod]
    public void DynamicQuantizesOnlyLinearsWithConstantWeights()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Initializer("cw", 2, 2, 1, 1).Initializer("w", 32, 5).Initializer("bias", 5).Output("y", 1, 5)
            .Node("Conv", "conv", ["x", "cw"], ["c"])
            .Node("Flatten", "flat", ["c"], ["f"])
            .Node("MatMul", "mm", ["f", "w"], ["m"])
            .Node("Add", "badd", ["m", "bias"], ["y"])
            .Build();
        var annotations = Annotate(graph, new X86Quantizer().SetGlobal(Dynamic));
        var mm = annotations.Get(graph.Node("mm"))!;
        Assert.HasCount(2, mm.InputQSpecMap);
        var act = (QuantizationSpec)mm.InputQSpecMap[0];
        Assert.IsTrue(act.IsDynamic);
        Assert.AreEqual(Dynamic.InputActivation, act);
        Assert.AreEqual(WeightOnAxis(1), mm.InputQSpecMap[1]);
        Assert.IsNull(annotations.Get(graph.Node("conv")));
        Assert.Contains("never applies to Conv", annotations.SkippedNodes.Single(s => s.NodeName == "conv").Reason);
        CollectionAssert.AreEquivalent(new[] { "conv", "flat", "badd" }, annotations.SkippedNodes.Select(s => s.NodeName).ToArray());
    }

    [TestMethod]
    public void DynamicGemmLeavesTheBiasFloat()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Initializer("w", 4, 3).Initializer("b", 4).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w", "b"], ["y"], ("transB", 1L))
            .Build();
        var a = Annotate(graph, new X86Quantizer().SetGlobal(Dynamic)).Get(graph.Node("gemm"))!;
        CollectionAssert.AreEquivalent(new[] { 0, 1 }, a.InputQSpecMap.Keys.ToArray());
        Assert.AreEqual(WeightOnAxis(0), a.InputQSpecMap[1]);
    }

    [TestMethod]
    public void ValidateRejectsADynamicSpecOnAConv()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 4, 4).Initializer("w", 2, 2, 1, 1).Output("y", 1, 2, 4, 4)
            .Node("Conv", "conv", ["x", "w"], ["y"])
            .Build();
        var annotations = new QuantizationAnnotations();
        annotations.GetOrCreate(graph.Node("conv")).InputQSpecMap[0] = Dynamic.InputActivation!;
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => new X86Quantizer().Validate(graph, annotations));
        Assert.Contains("ConvInteger", e.Message);
    }

    [TestMethod]
    public void NoGlobalConfigQuantizesNothing()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 2, 3).Initializer("w", 4, 3).Output("y", 2, 4)
            .Node("Gemm", "gemm", ["x", "w"], ["y"], ("transB", 1L))
            .Build();
        var annotations = Annotate(graph, new X86Quantizer());
        Assert.IsEmpty(annotations.All);
        Assert.AreEqual("gemm", annotations.SkippedNodes.Single().NodeName);
    }
}
