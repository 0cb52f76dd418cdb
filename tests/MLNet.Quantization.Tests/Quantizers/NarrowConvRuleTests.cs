using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.Flow;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>
/// X86Quantizer's performance rule for ONNX Runtime: a group-1 Conv with fewer than 16 input channels that are not a
/// multiple of 4 stays float (KeepNarrowConvsInFloat), and the flow then keeps ORT from pooling its output in uint8 NCHW.
/// </summary>
[TestClass]
public sealed class NarrowConvRuleTests
{
    private static OnnxGraph ConvGraph(long channels, long group = 1) =>
        new TestGraphBuilder()
            .Input("x", 1, channels, 6, 6).Initializer("w", 8 * group, channels / group, 3, 3).Output("y", 1, 8 * group, 4, 4)
            .Node("Conv", "conv", ["x", "w"], ["y"], ("group", group))
            .Build();

    private static QuantizationAnnotations Annotate(OnnxGraph graph, X86Quantizer quantizer)
    {
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations);
        return annotations;
    }

    private static X86Quantizer Default() => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());

    [TestMethod]
    [DataRow(1, true)]
    [DataRow(3, true)]
    [DataRow(5, true)]
    [DataRow(6, true)]
    [DataRow(10, true)]
    [DataRow(14, true)]
    [DataRow(4, false)]
    [DataRow(8, false)]
    [DataRow(12, false)]
    [DataRow(16, false)]
    [DataRow(30, false)]
    [DataRow(64, false)]
    public void GroupOneConvsWithFewInputChannelsNotAMultipleOfFourStayFloat(int channels, bool staysFloat)
    {
        Assert.IsTrue(new X86Quantizer().KeepNarrowConvsInFloat, "on by default");
        var graph = ConvGraph(channels);
        var annotations = Annotate(graph, Default());
        var conv = graph.Node("conv");
        Assert.AreEqual(!staysFloat, annotations.Get(conv)?.QuantizesAnything == true);
        var skipped = annotations.SkippedNodes.SingleOrDefault(s => s.NodeName == "conv");
        if (!staysFloat)
        {
            Assert.IsNull(skipped);
            return;
        }

        Assert.IsNotNull(skipped);
        StringAssert.Contains(skipped.Reason, "KeepNarrowConvsInFloat");
        StringAssert.Contains(skipped.Reason, $"{channels} input channel");
    }

    [TestMethod]
    public void DepthwiseConvsWithStrideOneAreNotNarrow()
    {
        // ORT runs depthwise int8 convs with its own kernel; at stride 1 it beats fp32
        var depthwise = ConvGraph(3, group: 3);
        Assert.IsTrue(Annotate(depthwise, Default()).Get(depthwise.Node("conv"))!.QuantizesAnything);
    }

    /// <summary>x → conv a (8 → 8 channels, int8) → depthwise conv b (stride 2), or b reading x directly.</summary>
    private static OnnxGraph DepthwiseAfter(bool afterInt8Conv) =>
        afterInt8Conv
            ? new TestGraphBuilder()
                .Input("x", 1, 8, 8, 8).Initializer("wa", 8, 8, 1, 1).Initializer("wb", 8, 1, 3, 3).Output("y", 1, 8, 3, 3)
                .Node("Conv", "a", ["x", "wa"], ["t"])
                .Node("Conv", "b", ["t", "wb"], ["y"], ("group", 8L), ("strides", new long[] { 2, 2 }))
                .Build()
            : new TestGraphBuilder()
                .Input("x", 1, 8, 8, 8).Initializer("wb", 8, 1, 3, 3).Output("y", 1, 8, 3, 3)
                .Node("Conv", "b", ["x", "wb"], ["y"], ("group", 8L), ("strides", new long[] { 2, 2 }))
                .Build();

    [TestMethod]
    public void AStridedDepthwiseConvReadingFloatStaysFloatButNotInsideAnInt8Chain()
    {
        // reading float (here the graph input; in fmnist_mobile the float stem), quantizing it would put the
        // float-to-int8 boundary on its input, 4x larger than its output
        var alone = DepthwiseAfter(afterInt8Conv: false);
        var annotations = Annotate(alone, Default());
        Assert.IsFalse(annotations.Get(alone.Node("b"))?.QuantizesAnything == true);
        StringAssert.Contains(annotations.SkippedNodes.Single(s => s.NodeName == "b").Reason, "strided depthwise conv reading a float tensor");

        var chained = DepthwiseAfter(afterInt8Conv: true);
        annotations = Annotate(chained, Default());
        Assert.IsTrue(annotations.Get(chained.Node("a"))!.QuantizesAnything);
        Assert.IsTrue(annotations.Get(chained.Node("b"))!.QuantizesAnything, "inside an int8 chain it is quantized as usual");

        alone = DepthwiseAfter(afterInt8Conv: false);
        Assert.IsTrue(Annotate(alone, new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig())).Get(alone.Node("b"))!.QuantizesAnything);
    }

    [TestMethod]
    public void ANodeNameConfigOrTurningTheRuleOffQuantizesANarrowConv()
    {
        var graph = ConvGraph(1);
        var byName = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()).SetNodeName("conv", X86Quantizer.GetDefaultConfig());
        Assert.IsTrue(Annotate(graph, byName).Get(graph.Node("conv"))!.QuantizesAnything, "a node-name config wins over the rule");

        graph = ConvGraph(1);
        var off = new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig());
        Assert.IsTrue(Annotate(graph, off).Get(graph.Node("conv"))!.QuantizesAnything);
    }

    [TestMethod]
    public void MovingThePoolBeforeTheReluChangesNoOutputAndKeepsOrtFromPoolingInUint8Nchw()
    {
        // fmnist_cnn with its 1-channel stem conv in float exports Conv → Relu → MaxPool → Q; Convert writes
        // Conv → MaxPool → Relu → Q. Compared here with the same QDQ model with the swap undone.
        var quantized = FlowFixture.Quantized("fmnist_cnn", dynamic: false);
        var swapped = OnnxGraph.FromModel(quantized.Model);
        var undone = OnnxGraph.FromModel(quantized.Model);
        var relu = undone.Nodes.Single(n => n.OpType == "Relu" && n.Outputs[0] == "/MaxPool_output_0");
        var pool = undone.GetProducer(relu.Inputs[0])!;
        Assert.AreEqual("MaxPool", pool.OpType);
        // put the Relu back before the pool: conv -> relu -> pool -> /MaxPool_output_0
        string conv = pool.Inputs[0];
        var reluProto = relu.Proto.Clone();
        var poolProto = pool.Proto.Clone();
        reluProto.Input[0] = conv;
        reluProto.Output[0] = "relu_out";
        poolProto.Input[0] = "relu_out";
        poolProto.Output[0] = "/MaxPool_output_0";
        undone.RemoveNode(relu, replacingProducer: true);
        undone.RemoveNode(pool, replacingProducer: true);
        undone.AddNode(reluProto);
        undone.AddNode(poolProto);

        // the same outputs, bit for bit, with ORT's optimizations off (max(relu(x)) = relu(max(x)))
        var batch = FlowFixture.CalibrationBatches().First()[0];
        using var a = new ModelRunner(swapped.ToModel().ToBytes(), Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL);
        using var b = new ModelRunner(undone.ToModel().ToBytes(), Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL);
        int n = batch.Shape[0];
        CollectionAssert.AreEqual(b.Run(batch.Floats, n), a.Run(batch.Floats, n));

        // and in ORT's optimized graph (level ALL) the unswapped form pools uint8 in NCHW, the swapped one does not
        static int Uint8NchwPools(byte[] model)
        {
            var ops = FusedGraphInspector.OptimizedOpTypes(model, Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL);
            return ops.GetValueOrDefault("MaxPool");
        }

        Assert.AreEqual(1, Uint8NchwPools(undone.ToModel().ToBytes()), "ORT moves the Q above the pool when the Relu comes first");
        Assert.AreEqual(0, Uint8NchwPools(swapped.ToModel().ToBytes()), "after the swap the stem pool runs as an fp32 NCHWc pool and the other in NHWC uint8");
    }
}
