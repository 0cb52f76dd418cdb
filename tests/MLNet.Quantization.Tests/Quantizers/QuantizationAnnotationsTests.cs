using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class QuantizationAnnotationsTests
{
    private static readonly QuantizationSpec Act = new(QuantDataType.UInt8, QScheme.PerTensorAffine);

    private static MLNet.Quantization.Graph.OnnxGraph ReluGraph() => new TestGraphBuilder()
        .Input("x", 1, 3).Initializer("w", 4, 3).Output("y", 1, 4)
        .Node("Relu", "r", ["x"], ["t"])
        .Node("Gemm", "g", ["t", "w"], ["y"], ("transB", 1L))
        .Build();

    [TestMethod]
    public void GetOrCreateKeepsOneAnnotationPerNode()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        var r = graph.Node("r");
        Assert.IsNull(annotations.Get(r));
        var a = annotations.GetOrCreate(r);
        Assert.AreSame(a, annotations.GetOrCreate(r));
        Assert.IsFalse(annotations.IsAnnotated(r));
        a.Annotated = true;
        Assert.IsTrue(annotations.IsAnnotated(r));
        Assert.HasCount(1, annotations.All);
        Assert.IsTrue(annotations.Remove(r));
        Assert.IsNull(annotations.Get(r));
    }

    [TestMethod]
    public void SkipRecordsNameOpTypeAndReason()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        annotations.Skip(graph.Node("r"), "because");
        Assert.AreEqual(new SkippedNode("r", "Relu", "because"), annotations.SkippedNodes.Single());
    }

    [TestMethod]
    public void ValidateRejectsAnInputIndexTheNodeDoesNotHave()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        annotations.GetOrCreate(graph.Node("r")).InputQSpecMap[1] = Act;
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        Assert.Contains("input 1 of Relu 'r'", e.Message);
    }

    [TestMethod]
    public void ValidateRejectsAnUnboundDerivedSpec()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        annotations.GetOrCreate(graph.Node("r")).InputQSpecMap[0] = DerivedQuantizationSpec.BiasTemplate;
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        Assert.Contains("names no edges", e.Message);
    }

    [TestMethod]
    public void ValidateRejectsSharingWithAnUnquantizedEdge()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        var g = graph.Node("g");
        annotations.GetOrCreate(g).InputQSpecMap[0] = new SharedQuantizationSpec(QuantizationEdge.Input(graph.Node("r"), 0));
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        Assert.Contains("which has no spec", e.Message);

        // Once the Relu input carries a spec, sharing with it is valid.
        annotations.GetOrCreate(graph.Node("r")).InputQSpecMap[0] = Act;
        annotations.Validate(graph);
    }

    [TestMethod]
    public void ValidateAcceptsSharingWithAnOutputAConsumerQuantizes()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        var r = graph.Node("r");
        annotations.GetOrCreate(r).InputQSpecMap[0] = new SharedQuantizationSpec(QuantizationEdge.Output(r));
        Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        annotations.GetOrCreate(graph.Node("g")).InputQSpecMap[0] = Act; // the Gemm quantizes the Relu output
        annotations.Validate(graph);
    }

    [TestMethod]
    public void ValidateRejectsAPerChannelAxisBeyondTheWeightRank()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        annotations.GetOrCreate(graph.Node("g")).InputQSpecMap[1] = new QuantizationSpec(QuantDataType.Int8, QScheme.PerChannelSymmetric, channelAxis: 2);
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        Assert.Contains("axis 2", e.Message);
        Assert.Contains("rank 2", e.Message);
    }

    [TestMethod]
    public void ValidateReportsASpecMadeInvalidByWith()
    {
        var graph = ReluGraph();
        var annotations = new QuantizationAnnotations();
        annotations.GetOrCreate(graph.Node("r")).InputQSpecMap[0] = Act with { QuantMin = 5, QuantMax = 255 };
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => annotations.Validate(graph));
        Assert.Contains("must include 0", e.Message);
    }
}
