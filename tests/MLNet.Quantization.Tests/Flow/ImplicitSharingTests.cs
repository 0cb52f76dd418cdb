using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// PT2E's implicit sharing: an input edge shares the observer of its producer's output (and of the tensor's other
/// consumers) when the root specs agree on dtype, dynamism, range, scheme and axis, whatever the observer type.
/// </summary>
[TestClass]
public sealed class ImplicitSharingTests
{
    private static readonly QuantizationSpec MinMaxActivation = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, observerFactory: o => new MinMaxObserver(o));
    private static readonly QuantizationSpec HistogramActivation = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, observerFactory: o => new HistogramObserver(o));
    private static readonly QuantizationSpec SevenBitActivation = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 127, observerFactory: o => new MinMaxObserver(o));

    /// <summary>Producer output observed with <c>reluOutput</c>; MaxPool input and the consumer input with <c>poolInput</c>; MaxPool output shared with its input.</summary>
    private sealed class ReluPoolQuantizer(QuantizationSpec reluOutput, QuantizationSpec poolInput) : Quantizer
    {
        public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
        {
            var relu = graph.Nodes.Single(n => n.Name == "producer");
            var a = annotations.GetOrCreate(relu);
            a.InputQSpecMap[0] = reluOutput;
            a.OutputQSpec = reluOutput;
            a.Annotated = true;
            var pool = graph.Nodes.Single(n => n.OpType == "MaxPool");
            var p = annotations.GetOrCreate(pool);
            p.InputQSpecMap[0] = poolInput;
            p.OutputQSpec = new SharedQuantizationSpec(QuantizationEdge.Input(pool, 0));
            p.Annotated = true;
            var next = annotations.GetOrCreate(graph.Nodes.Single(n => n.Name == "consumer"));
            next.InputQSpecMap[0] = poolInput; // the next consumer quantizes p with its own (equal) spec
            next.Annotated = true;
        }
    }

    private static OnnxGraph ReluPool() => new TestGraphBuilder()
        .Input("x", 1, 1, 2, 2).Output("y", 1, 1, 1, 1)
        .Node("Neg", "producer", ["x"], ["r"])
        .Node("MaxPool", "pool", ["r"], ["p"], ("kernel_shape", new long[] { 2, 2 }))
        .Node("Abs", "consumer", ["p"], ["y"])
        .Build();

    private static OnnxGraph Convert(QuantizationSpec reluOutput, QuantizationSpec poolInput)
    {
        var prepared = QuantizationFlow.Prepare(ReluPool().ToModel(), new ReluPoolQuantizer(reluOutput, poolInput));
        // x = [1, −2, −0.5, −4] → r = [−1, 2, 0.5, 4], p = [4]: alone, r would get range [−1, 4] and p [0, 4]
        prepared.Calibrate([[NamedTensor.FromFloats("x", [1f, -2f, -0.5f, -4f], 1, 1, 2, 2)]]);
        return OnnxGraph.FromModel(prepared.Convert().Model);
    }

    private static QuantizationParameters QParamsOf(OnnxGraph g, string tensor)
    {
        var q = g.Nodes.Single(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == tensor);
        return new(g.Initializers[q.Inputs[1]].ToFloatArray()[0], g.Initializers[q.Inputs[2]].ToArray<byte>()[0]);
    }

    private readonly record struct QuantizationParameters(float Scale, byte ZeroPoint);

    [TestMethod]
    public void PoolInputJoinsTheProducerOutputDespiteAnotherObserverType()
    {
        var g = Convert(HistogramActivation, MinMaxActivation);
        var r = QParamsOf(g, "r");
        var p = QParamsOf(g, "p");
        Assert.AreEqual(r, p, "producer output, MaxPool input, MaxPool output and the consumer input edge are one group");
        Assert.AreEqual(1, g.Nodes.Count(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "r"), "r is quantized once");
        Assert.AreEqual(1, g.Nodes.Count(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "p"), "p is quantized once");
    }

    [TestMethod]
    public void DifferentRangesDoNotShare()
    {
        // MinMax over r = [−1, 4] (p = 4 adds nothing). One 8-bit group: scale 5/255. With 7-bit edges (the pool's,
        // and the consumer's, which shares with it) the edges keep their own observer: scale 5/127 on r and p.
        var shared = Convert(MinMaxActivation, MinMaxActivation);
        Assert.AreEqual(5f / 255f, QParamsOf(shared, "r").Scale, 1e-9f);
        Assert.AreEqual(5f / 255f, QParamsOf(shared, "p").Scale, 1e-9f);
        var separate = Convert(MinMaxActivation, SevenBitActivation);
        Assert.AreEqual(5f / 127f, QParamsOf(separate, "r").Scale, 1e-9f);
        Assert.AreEqual(5f / 127f, QParamsOf(separate, "p").Scale, 1e-9f);
    }

    [TestMethod]
    public void X86QuantizedCnnRunsMaxPoolInInt8()
    {
        // fmnist_cnn: Conv → Relu → MaxPool_1 → Conv. Sharing makes the pool's DQ and Q carry the same qparams, so
        // ORT drops them and pools in uint8 instead of dequantizing around a float MaxPool.
        var quantized = FlowFixture.Quantized("fmnist_cnn", dynamic: false);
        var g = OnnxGraph.FromModel(quantized.Model);
        var pools = g.Nodes.Where(n => n.OpType == "MaxPool").ToList();
        Assert.HasCount(2, pools);

        // The first pool follows the float stem conv (KeepNarrowConvsInFloat): it now pools before the Relu, so that
        // ORT's QDQ propagation stops at the Relu instead of making it a uint8 pool in NCHW layout.
        var stemPool = pools.Single(p => g.GetProducer(p.Inputs[0])!.OpType == "Conv");
        var relu = g.GetConsumers(stemPool.Outputs[0]).Single().Node;
        Assert.AreEqual("Relu", relu.OpType);
        Assert.AreEqual("/MaxPool_output_0", relu.Outputs[0], "the pooled tensor keeps its name");
        Assert.AreEqual("QuantizeLinear", g.GetConsumers(relu.Outputs[0]).Single().Node.OpType);

        foreach (var pool in pools.Where(p => p != stemPool))
        {
            var dq = g.GetProducer(pool.Inputs[0])!;
            var q = g.GetConsumers(pool.Outputs[0]).Single().Node;
            Assert.AreEqual("DequantizeLinear", dq.OpType);
            Assert.AreEqual("QuantizeLinear", q.OpType);
            CollectionAssert.AreEqual(g.Initializers[dq.Inputs[1]].ToFloatArray(), g.Initializers[q.Inputs[1]].ToFloatArray(), $"scale around {pool.Name}");
            CollectionAssert.AreEqual(g.Initializers[dq.Inputs[2]].ToArray<byte>(), g.Initializers[q.Inputs[2]].ToArray<byte>(), $"zero point around {pool.Name}");
        }

        var ops = FusedGraphInspector.OptimizedOpTypes(quantized.Model.ToBytes());
        Assert.AreEqual(2, ops.GetValueOrDefault("MaxPool"));
        Assert.IsFalse(ops.ContainsKey("DequantizeLinear"), $"no tensor is dequantized: the int8 pool reads uint8 ({string.Join(", ", ops.Keys)})");
    }

    [TestMethod]
    public void ExcludingANodeByItsExportedNameWorksAfterBatchNormFolding()
    {
        // fmnist_mobile's stem Conv has no bias, so BN folding adds one; the node must keep its name '/stem/Conv'
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()).SetNodeName("/stem/Conv", null);
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_mobile")), quantizer);
        prepared.Calibrate(FlowFixture.CalibrationBatches().Take(2));
        var result = prepared.Convert();
        Assert.IsTrue(result.Report.NodesLeftInFloat.Any(n => n.Name == "/stem/Conv"), "the report lists the excluded Conv");
        var g = OnnxGraph.FromModel(result.Model);
        var stem = g.Nodes.Single(n => n.Name == "/stem/Conv");
        Assert.IsTrue(g.IsInitializer(stem.Inputs[1]), "the excluded Conv keeps a float weight initializer");
        // 9 convs: the excluded stem, and the stride-2 depthwise conv that reads it stays float too (KeepNarrowConvsInFloat)
        Assert.AreEqual(7, result.Report.QuantizedNodesByOpType["Conv"]);
    }
}
