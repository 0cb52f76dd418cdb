using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class QuantizationSpecTests
{
    [TestMethod]
    public void PerChannelSpecWithoutAxisIsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.Int8, QScheme.PerChannelSymmetric));
        Assert.Contains("needs a ChannelAxis", e.Message);
    }

    [TestMethod]
    public void PerTensorSpecWithAxisIsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, channelAxis: 1));
        Assert.Contains("per-tensor", e.Message);
    }

    [TestMethod]
    [DataRow(-1, 255)]  // uint8 is [0, 255]
    [DataRow(0, 256)]
    [DataRow(-129, 127)] // checked against int8 below
    public void RangeOutsideTheTypeIsRejected(int min, int max)
    {
        var type = min == -129 ? QuantDataType.Int8 : QuantDataType.UInt8;
        var e = Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(type, QScheme.PerTensorAffine, min, max));
        Assert.Contains("outside", e.Message);
    }

    [TestMethod]
    public void RangeMustHaveBothBoundsIncludeZeroAndNotBeEmpty()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, quantMin: 0));
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, 10, 255));
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.Int8, QScheme.PerTensorAffine, 0, 0));
    }

    [TestMethod]
    public void DynamicPerChannelAndNonPositiveEpsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerChannelAffine, channelAxis: 0, isDynamic: true));
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, eps: 0f));
        Assert.ThrowsExactly<ArgumentException>(() => new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, eps: float.NaN));
    }

    [TestMethod]
    public void WithExpressionBypassesTheConstructorButValidateCatchesIt()
    {
        var valid = new QuantizationSpec(QuantDataType.Int8, QScheme.PerChannelSymmetric, channelAxis: 0);
        var invalid = valid with { ChannelAxis = null };
        Assert.ThrowsExactly<ArgumentException>(invalid.Validate);
        Assert.ThrowsExactly<ArgumentException>(() => invalid.ToObserverOptions());
    }

    [TestMethod]
    public void ToObserverOptionsCarriesEveryField()
    {
        var spec = new QuantizationSpec(QuantDataType.Int8, QScheme.PerChannelSymmetric, -128, 127, channelAxis: 1, eps: 1f / 4096f, reduceRange: true);
        var expected = new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ReduceRange: true, QuantMin: -128, QuantMax: 127, Eps: 0.000244140625f, ChannelAxis: 1);
        Assert.AreEqual(expected, spec.ToObserverOptions());
    }

    [TestMethod]
    public void PerTensorOptionsUseAxisZeroAndDefaultEpsIsTwoToTheMinusTwelve()
    {
        var spec = new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine);
        // 2^-12 = 1 / 4096 = 0.000244140625 exactly in float32.
        Assert.AreEqual(0.000244140625f, spec.Eps);
        Assert.AreEqual(new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorAffine, false, null, null, 0.000244140625f, 0), spec.ToObserverOptions());
    }

    [TestMethod]
    public void SpecsWithEqualFieldsAreEqual()
    {
        Func<ObserverOptions, Observer>? factory = null;
        var a = new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, observerFactory: factory);
        var b = new QuantizationSpec(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, observerFactory: factory);
        Assert.AreEqual(a, b);
        Assert.AreNotEqual(a, b with { QuantMax = 127 });
    }

    [TestMethod]
    public void FixedSpecGivesItsParameters()
    {
        // Sigmoid's PyTorch fixed qparams: scale 1/256 = 0.00390625, zero point 0 on uint8.
        var spec = new FixedQParamsQuantizationSpec(QuantDataType.UInt8, 1f / 256f, 0);
        var q = spec.ToQParams();
        Assert.AreEqual(0.00390625f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
        Assert.AreEqual(0, q.QuantMin);
        Assert.AreEqual(255, q.QuantMax);
    }

    [TestMethod]
    public void FixedSpecRejectsBadScaleAndZeroPoint()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new FixedQParamsQuantizationSpec(QuantDataType.UInt8, 0f, 0));
        Assert.ThrowsExactly<ArgumentException>(() => new FixedQParamsQuantizationSpec(QuantDataType.UInt8, float.PositiveInfinity, 0));
        var e = Assert.ThrowsExactly<ArgumentException>(() => new FixedQParamsQuantizationSpec(QuantDataType.UInt8, 0.1f, 256));
        Assert.Contains("zero point 256", e.Message);
        // Zero point outside a custom range [0, 127].
        Assert.ThrowsExactly<ArgumentException>(() => new FixedQParamsQuantizationSpec(QuantDataType.UInt8, 0.1f, 128, 0, 127));
    }

    [TestMethod]
    public void BiasScalesAreActivationTimesWeightPerChannel()
    {
        // s_act = 0.5; weight per channel [0.25, 0.125] → bias scales [0.125, 0.0625], zero points 0, int32, axis 0.
        var act = QParams.PerTensor(0.5f, 3, QuantDataType.UInt8);
        var weight = new QParams([0.25f, 0.125f], [0, 0], QuantDataType.Int8, axis: 0);
        var bias = DerivedQuantizationSpec.MultiplyScales([act, weight]);
        CollectionAssert.AreEqual(new[] { 0.125f, 0.0625f }, bias.Scales);
        CollectionAssert.AreEqual(new[] { 0, 0 }, bias.ZeroPoints);
        Assert.AreEqual(QuantDataType.Int32, bias.DataType);
        Assert.AreEqual(0, bias.Axis);
    }

    [TestMethod]
    public void BiasScaleIsPerTensorForAPerTensorWeight()
    {
        // 0.5 × 0.25 = 0.125.
        var bias = DerivedQuantizationSpec.MultiplyScales([QParams.PerTensor(0.5f, 0, QuantDataType.UInt8), QParams.PerTensor(0.25f, 0, QuantDataType.Int8)]);
        Assert.IsFalse(bias.IsPerChannel);
        Assert.AreEqual(0.125f, bias.Scale);
        Assert.AreEqual(0, bias.ZeroPoint);
    }

    [TestMethod]
    public void BiasNeedsExactlyActivationAndWeight()
    {
        var p = QParams.PerTensor(0.5f, 0, QuantDataType.UInt8);
        Assert.ThrowsExactly<ArgumentException>(() => DerivedQuantizationSpec.MultiplyScales([p]));
        Assert.ThrowsExactly<ArgumentException>(() => DerivedQuantizationSpec.MultiplyScales([p, p, p]));
    }

    [TestMethod]
    public void BiasTemplateBindsToTheNodesEdges()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 3).Initializer("w", 4, 3).Initializer("b", 4).Output("y", 1, 4)
            .Node("Gemm", "g", ["x", "w", "b"], ["y"], ("transB", 1L))
            .Node("Gemm", "g2", ["x", "w", "b"], ["y2"], ("transB", 1L))
            .Build();
        var g = graph.Node("g");
        var template = DerivedQuantizationSpec.BiasTemplate;
        Assert.IsTrue(template.IsTemplate);
        var bound = template.BindBias(g);
        Assert.IsFalse(bound.IsTemplate);
        CollectionAssert.AreEqual(new[] { QuantizationEdge.Input(g, 0), QuantizationEdge.Input(g, 1) }, bound.DerivedFrom.ToArray());
        Assert.AreEqual(QuantDataType.Int32, bound.DataType);
        Assert.AreEqual(DerivedQuantizationSpec.Bias(g), bound);
        Assert.AreNotEqual(DerivedQuantizationSpec.Bias(graph.Node("g2")), bound);
        Assert.AreSame(bound, bound.BindBias(graph.Node("g2")));
    }

    [TestMethod]
    public void EdgesCompareByNodeReferenceIndexAndKind()
    {
        var graph = new TestGraphBuilder()
            .Input("x", 1, 3).Output("y", 1, 3)
            .Node("Relu", "r", ["x"], ["t"])
            .Node("Relu", "r2", ["t"], ["y"])
            .Build();
        var r = graph.Node("r");
        Assert.AreEqual(QuantizationEdge.Input(r, 0), QuantizationEdge.Input(r, 0));
        Assert.IsTrue(QuantizationEdge.Output(r) == QuantizationEdge.Output(r, 0));
        Assert.AreNotEqual(QuantizationEdge.Input(r, 0), QuantizationEdge.Output(r, 0));
        Assert.AreNotEqual(QuantizationEdge.Input(r, 0), QuantizationEdge.Input(r, 1));
        Assert.AreNotEqual(QuantizationEdge.Input(r, 0), QuantizationEdge.Input(graph.Node("r2"), 0));
        Assert.AreEqual("x", QuantizationEdge.Input(r, 0).TensorName);
        Assert.AreEqual("t", QuantizationEdge.Output(r).TensorName);
        Assert.IsNull(QuantizationEdge.Input(r, 5).TensorName);
    }
}
