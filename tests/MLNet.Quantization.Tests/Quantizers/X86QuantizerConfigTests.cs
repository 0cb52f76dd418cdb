using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class X86QuantizerConfigTests
{
    private static OnnxGraph TwoConvsAndAGemm() => new TestGraphBuilder()
        .Input("x", 1, 2, 2, 2).Initializer("wa", 2, 2, 1, 1).Initializer("wb", 2, 2, 1, 1).Initializer("fw", 3, 8).Output("y", 1, 3)
        .Node("Conv", "convA", ["x", "wa"], ["a"])
        .Node("Conv", "convB", ["a", "wb"], ["b"])
        .Node("Flatten", "flat", ["b"], ["f"])
        .Node("Gemm", "fc", ["f", "fw"], ["y"], ("transB", 1L))
        .Build();

    [TestMethod]
    public void NodeNameBeatsOperatorTypeWhichBeatsGlobal()
    {
        var global = X86Quantizer.GetDefaultConfig();
        var special = X86Quantizer.GetDefaultConfig(reduceRange: true);
        var graph = TwoConvsAndAGemm();
        var quantizer = new X86Quantizer { KeepNarrowConvsInFloat = false } // small test convs; the narrow-conv rule has its own tests
            .SetGlobal(global)
            .SetOperatorType("Conv", null)
            .SetNodeName("convB", special);
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);

        // convA: the operator-type entry (null) wins over the global config → float, claimed, reported.
        var convA = annotations.Get(graph.Node("convA"))!;
        Assert.IsTrue(convA.Annotated);
        Assert.IsEmpty(convA.InputQSpecMap);
        Assert.AreEqual("kept in float by operator type 'Conv'", annotations.SkippedNodes.Single(s => s.NodeName == "convA").Reason);

        // convB: the node-name entry wins over the operator-type entry.
        Assert.AreEqual(special.InputActivation, annotations.Get(graph.Node("convB"))!.InputQSpecMap[0]);
        Assert.AreEqual(127, ((QuantizationSpec)annotations.Get(graph.Node("convB"))!.InputQSpecMap[0]).QuantMax);

        // fc: only the global config applies.
        Assert.AreEqual(global.InputActivation, annotations.Get(graph.Node("fc"))!.InputQSpecMap[0]);
    }

    [TestMethod]
    public void NullNodeNameConfigKeepsOnePatternFloat()
    {
        var graph = TwoConvsAndAGemm();
        var quantizer = new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig()).SetNodeName("fc", null);
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        Assert.IsFalse(annotations.Get(graph.Node("fc"))!.QuantizesAnything);
        Assert.AreEqual("kept in float by node name 'fc'", annotations.SkippedNodes.Single(s => s.NodeName == "fc").Reason);
        Assert.IsTrue(annotations.Get(graph.Node("convA"))!.QuantizesAnything);
        // X86InductorQuantizer's flatten rule looks at the consumer's operator type (Gemm is quantizable), not at
        // whether that consumer ends up quantized, so the Flatten is still int8 in, int8 out.
        Assert.IsTrue(annotations.Get(graph.Node("flat"))!.QuantizesAnything);
    }

    [TestMethod]
    public void NodeNameEntryOnAFusibleNodeKeepsItOutOfThePattern()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 2, 2, 2).Initializer("w", 2, 2, 1, 1).Output("y", 1, 2, 2, 2)
            .Node("Conv", "conv", ["x", "w"], ["c"])
            .Node("Relu", "relu", ["c"], ["y"])
            .Build();
        var quantizer = new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig()).SetNodeName("relu", null);
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        Assert.IsTrue(annotations.Get(graph.Node("conv"))!.QuantizesAnything);
        Assert.IsNull(annotations.Get(graph.Node("relu")));
        Assert.AreEqual("relu", annotations.SkippedNodes.Single().NodeName);
    }

    [TestMethod]
    public void MixingStaticAndDynamicOrQatAndPtqIsRejected()
    {
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
        var e = Assert.ThrowsExactly<ArgumentException>(() => quantizer.SetOperatorType("Gemm", X86Quantizer.GetDefaultConfig(isDynamic: true)));
        Assert.Contains("static and dynamic", e.Message);
        e = Assert.ThrowsExactly<ArgumentException>(() => quantizer.SetNodeName("fc", X86Quantizer.GetDefaultConfig(isQat: true)));
        Assert.Contains("QAT", e.Message);
        quantizer.SetNodeName("fc", null); // null never conflicts
    }

    [TestMethod]
    public void OperatorTypeWithoutAPatternIsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new X86Quantizer().SetOperatorType("Relu", null));
        Assert.Contains("'Relu'", e.Message);
        Assert.Contains("Conv", e.Message);
    }

    [TestMethod]
    public void SettersReturnTheQuantizerForChaining()
    {
        var q = new X86Quantizer();
        Assert.AreSame(q, q.SetGlobal(null));
        Assert.AreSame(q, q.SetOperatorType("Conv", null));
        Assert.AreSame(q, q.SetNodeName("n", null));
    }
}
