using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Quantizers;
using static MLNet.Quantization.Tests.Reliability.CalibrationDataTests;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Values near float32's limits (±3.4e38, ±1e38): a range whose max − min overflows float32 is binned and scaled in
/// double (it gave <c>Range [NaN, Infinity] is not finite</c>); a bias that cannot fit int32 raises the weight scale;
/// qparams an observer cannot compute name the tensor and the node that reads it.
/// </summary>
[TestClass]
public sealed class ExtremeWeightTests
{
    private const float Huge = 3.4e38f;

    private static void AssertScale(double expected, float scale, string label)
    {
        Assert.IsTrue(float.IsFinite(scale) && scale > 0, $"{label}: scale {scale}");
        Assert.AreEqual(expected, scale, expected * 1e-5, label);
    }

    [TestMethod]
    [DataRow(-Huge, Huge)]
    [DataRow(-1e38f, 1e38f)]
    [DataRow(-Huge, 1f)]
    [DataRow(-float.MaxValue, float.MaxValue)]
    public void AffineQParamsOfARangeWhoseWidthOverflowsFloatAreFinite(float min, float max)
    {
        var qp = QParamsCalculator.Calculate(min, max, new ObserverOptions());
        AssertScale(((double)max - min) / 255, qp.Scale, $"[{min}, {max}]");
        Assert.IsTrue(qp.ZeroPoints[0] is >= 0 and <= 255);
        var sym = QParamsCalculator.Calculate(min, max, new ObserverOptions(QuantDataType.Int8, QScheme.PerTensorSymmetric));
        AssertScale(Math.Max(-(double)min, max) / 127.5, sym.Scale, "symmetric");
    }

    [TestMethod]
    [DataRow(-Huge, Huge)]
    [DataRow(-float.MaxValue, float.MaxValue)]
    [DataRow(-1e38f, 1e38f)]
    public void TheHistogramObserverCoversAWidthThatOverflowsFloat(float min, float max)
    {
        var values = new float[1000];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(min + (((double)max - min) * i / (values.Length - 1)));
        var observer = new HistogramObserver();
        observer.Observe(values);
        var (lo, hi) = observer.SearchRange();
        Assert.IsTrue(float.IsFinite(lo) && float.IsFinite(hi) && lo < hi, $"search range [{lo}, {hi}]");
        var qp = observer.CalculateQParams();
        Assert.IsTrue(float.IsFinite(qp.Scale) && qp.Scale > 1e35f, $"scale {qp.Scale}");

        // merged with a narrow histogram, still finite
        var narrow = new HistogramObserver();
        narrow.Observe([-1f, 0f, 1f]);
        narrow.Merge(observer);
        Assert.IsTrue(float.IsFinite(narrow.CalculateQParams().Scale));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void AWeightOfPlusMinus3e38QuantizesAndDequantizesToItself(bool perChannel)
    {
        var graph = Gemm(weight: [-Huge, Huge, 0.5f, -0.25f, 1e38f, -1e38f, 0.5f, 0.25f]);
        var config = X86Quantizer.GetDefaultConfig();
        var prepared = QuantizationFlow.Prepare(graph.ToModel(), new X86Quantizer().SetGlobal(perChannel ? config : PerTensorWeights(config)));
        prepared.Calibrate([[NamedTensor.FromFloats("x", [1e-3f, 0f, 0f, 0f], 1, 4)]]);
        var g = OnnxGraph.FromModel(prepared.Convert().Model);

        var weightDq = g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == TensorElementType.Int8);
        var q = g.Initializers[weightDq.Inputs[0]].ToArray<sbyte>();
        var scales = g.Initializers[weightDq.Inputs[1]].ToFloatArray();
        Assert.IsTrue(scales.All(s => float.IsFinite(s) && s > 0), string.Join(", ", scales));
        Assert.AreEqual(-Huge, q[0] * (double)scales[0], Huge * 0.01);
        Assert.AreEqual(Huge, q[1] * (double)scales[0], Huge * 0.01);
    }

    [TestMethod]
    [DataRow(Huge)]
    [DataRow(1e38f)]
    [DataRow(-float.MaxValue)]
    public void ABiasThatCannotFitInt32AtTheCalibratedScalesRaisesTheWeightScale(float bias)
    {
        var prepared = Prepare(Gemm(bias: [bias, 0.5f]));
        prepared.Calibrate([[NamedTensor.FromFloats("x", [0.5f, -0.25f, 0.125f, 1f], 1, 4)]]);
        var g = OnnxGraph.FromModel(prepared.Convert().Model);

        var biasDq = g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == TensorElementType.Int32);
        var q32 = g.Initializers[biasDq.Inputs[0]].ToArray<int>();
        var scale = g.Initializers[biasDq.Inputs[1]].ToFloatArray();
        Assert.IsTrue(scale.All(float.IsFinite), string.Join(", ", scale));
        Assert.AreEqual(bias, q32[0] * (double)scale[0], Math.Abs(bias) * 1e-3);
    }

    [TestMethod]
    public void AnActivationSpanningPlusMinus3e38CalibratesWithTheDefaultHistogramObserver()
    {
        // x · 3.4e38 feeds a MatMul: its calibrated input spans [−3.4e38, 3.4e38], whose width overflows float32
        var graph = new TestGraphBuilder().Input("x", 1, 4).Output("y", 1, 2)
            .Node("Mul", "scale_up", ["x", "k"], ["h"])
            .Node("MatMul", "mm", ["h", "w"], ["y"]).Build();
        graph.AddInitializer(TensorData.FromFloats("k", [], [Huge]));
        graph.AddInitializer(TensorData.FromFloats("w", [4, 2], [1e-30f, 2e-30f, -1e-30f, 0.5e-30f, 1e-30f, 1e-30f, -2e-30f, 1e-30f]));
        var prepared = Prepare(graph);
        prepared.Calibrate([[NamedTensor.FromFloats("x", [-1f, 1f, 0.5f, -0.25f], 1, 4)]]);
        var g = OnnxGraph.FromModel(prepared.Convert().Model);
        var (scale, zeroPoint) = ActivationQParams(g, "h");
        Assert.IsTrue(float.IsFinite(scale) && scale > 1e36f, $"scale {scale}");
        Assert.IsTrue(zeroPoint is >= 0 and <= 255, $"zero point {zeroPoint}");
    }

    [TestMethod]
    public void QParamsAnObserverCannotComputeNameTheTensorAndTheNode()
    {
        var prepared = Prepare(Gemm(), observer: options => new UnrepresentableRange(options));
        prepared.Calibrate([[NamedTensor.FromFloats("x", [0.5f, -0.25f, 0.125f, 1f], 1, 4)]]);
        var e = Assert.ThrowsExactly<CalibrationException>(prepared.Convert);
        StringAssert.Contains(e.Message, "activation [x]");
        StringAssert.Contains(e.Message, "'gemm'");
        StringAssert.Contains(e.Message, "not finite");
        Assert.IsInstanceOfType<ArgumentException>(e.InnerException);
    }

    private static QuantizationConfig PerTensorWeights(QuantizationConfig config) => config with
    {
        Weight = new QuantizationSpec(QuantDataType.Int8, QScheme.PerTensorSymmetric, quantMin: -128, quantMax: 127, eps: QuantizationSpec.WeightEps),
    };

    /// <summary>An observer whose range overflowed to NaN (as a third-party observer's float arithmetic can).</summary>
    private sealed class UnrepresentableRange(ObserverOptions options) : MinMaxObserver(options)
    {
        public override QParams CalculateQParams() => QParamsCalculator.Calculate(float.NaN, float.PositiveInfinity, Options);

        public override Observer CreateEmpty() => new UnrepresentableRange(Options);
    }
}
