using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Quantizers;
using static MLNet.Quantization.Tests.Reliability.CalibrationDataTests;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Numeric edge cases, end to end through ONNX Runtime: the int32 bias guard on a per-channel Conv (ORT issue #21000
/// class), a weight channel that is all zero, huge dynamic ranges (1e-30 .. 1e30), and reduce-range (7-bit activations).
/// </summary>
[TestClass]
public sealed class NumericEdgeCaseTests
{
    private static OnnxGraph Converted(PreparedModel prepared, params float[][] rows)
    {
        prepared.Calibrate(rows.Select(r => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x", r, 1, 4)]).ToList());
        return OnnxGraph.FromModel(prepared.Convert().Model);
    }

    private static IEnumerable<float[]> Scales(OnnxGraph g) =>
        g.Nodes.Where(n => n.OpType is "QuantizeLinear" or "DequantizeLinear").Select(n => g.Initializers[n.Inputs[1]].ToFloatArray());

    private static OnnxNode DequantizeOf(OnnxGraph g, TensorElementType type) =>
        g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == type);

    [TestMethod]
    public void Int32BiasGuardOnAPerChannelConvKeepsTheBiasRepresentableAndOrtClose()
    {
        // 1×1 Conv over x [1, 4, 1, 1] (4 input channels), 2 output channels. Channel 0 has weights 1e-6 and bias 1000:
        // s_in ≈ 1e-3/255 and s_w ≈ 1e-6/127.5, so 1000 / (s_in·s_w) ≈ 3e13 would overflow int32 without the guard.
        var graph = new TestGraphBuilder().Input("x", 1, 4, 1, 1).Output("y", 1, 2, 1, 1)
            .Node("Conv", "conv", ["x", "w", "b"], ["y"], ("kernel_shape", new long[] { 1, 1 })).Build();
        graph.AddInitializer(TensorData.FromFloats("w", [2, 4, 1, 1], [1e-6f, 1e-6f, 1e-6f, 1e-6f, 0.5f, 0.25f, -0.5f, 0.125f]));
        graph.AddInitializer(TensorData.FromFloats("b", [2], [1000f, 0.5f]));
        var x = new float[] { 1e-3f, 0.5e-3f, 0f, 0.25e-3f };
        var prepared = Prepare(graph);
        prepared.Calibrate([[NamedTensor.FromFloats("x", x, 1, 4, 1, 1)]]);
        var g = OnnxGraph.FromModel(prepared.Convert().Model);

        var biasDq = DequantizeOf(g, TensorElementType.Int32);
        var q32 = g.Initializers[biasDq.Inputs[0]].ToArray<int>();
        var scale = g.Initializers[biasDq.Inputs[1]].ToFloatArray();
        Assert.IsLessThan(int.MaxValue, Math.Abs((long)q32[0]));
        Assert.AreEqual(1000.0, q32[0] * (double)scale[0], 1.0);

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(g.ToModel().ToBytes());
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [1, 4, 1, 1]))]);
        var y = results.Single().AsTensor<float>().ToArray();
        Assert.AreEqual(1000f, y[0], 1f);
        Assert.AreEqual(0.5f * x[0] + 0.25f * x[1] - 0.5f * x[2] + 0.125f * x[3] + 0.5f, y[1], 0.01f);
    }

    [TestMethod]
    public void WeightsMadeTinyByBatchNormFoldingKeepTheirPrecision()
    {
        // A running variance of 1e7 folds the conv's weights (|w| ≤ 0.5) down to at most 1.6e-4 per channel. PT2E's eps
        // of 2^-12 would floor their scale at 2.4e-4, rounding every weight to −1, 0 or 1; the weight eps must not.
        var graph = new TestGraphBuilder().Input("x", 1, 4, 1, 1).Output("y", 1, 2, 1, 1)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("kernel_shape", new long[] { 1, 1 }))
            .Node("BatchNormalization", "bn", ["c", "gamma", "beta", "mean", "var"], ["n"])
            .Node("Relu", "relu", ["n"], ["y"]).Build();
        float[] w = [0.5f, -0.31f, 0.12f, 0.07f, -0.45f, 0.22f, 0.38f, -0.09f];
        graph.AddInitializer(TensorData.FromFloats("w", [2, 4, 1, 1], w));
        graph.AddInitializer(TensorData.FromFloats("gamma", [2], [1f, 1f]));
        graph.AddInitializer(TensorData.FromFloats("beta", [2], [0.1f, -0.1f]));
        graph.AddInitializer(TensorData.FromFloats("mean", [2], [0f, 0f]));
        graph.AddInitializer(TensorData.FromFloats("var", [2], [1e7f, 1e7f]));
        var prepared = Prepare(graph);
        var rows = new[] { new float[] { 1f, -2f, 3f, 0.5f }, new float[] { -1f, 2.5f, -0.5f, 2f } };
        prepared.Calibrate(rows.Select(r => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x", r, 1, 4, 1, 1)]).ToList());
        var g = OnnxGraph.FromModel(prepared.Convert().Model);

        var dq = DequantizeOf(g, TensorElementType.Int8);
        var q = g.Initializers[dq.Inputs[0]].ToFloatArray();
        var scale = g.Initializers[dq.Inputs[1]].ToFloatArray();
        double signal = 0, noise = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double folded = w[i] / Math.Sqrt(1e7 + 1e-5);
            double back = q[i] * scale[i / 4];
            signal += folded * folded;
            noise += (folded - back) * (folded - back);
        }

        double sqnr = 10 * Math.Log10(signal / noise);
        Assert.IsGreaterThan(35.0, sqnr, $"weight SQNR {sqnr:F1} dB, scales [{string.Join(", ", scale)}], nodes {string.Join(",", g.Nodes.Select(n => n.OpType))}");
        Assert.IsLessThan(QuantizationSpec.DefaultEps, scale.Max(), "the scale follows the weights' own range");
    }

    [TestMethod]
    public void AnAllZeroWeightChannelGetsAFiniteScaleAndOrtRunsIt()
    {
        var graph = Gemm(weight: [0f, 0f, 0f, 0f, -1f, 0.75f, 0.5f, 0.25f], bias: [0.3f, -0.2f]);
        var g = Converted(Prepare(graph), [0.5f, -1f, 2f, 0f], [1f, 1.5f, -0.5f, 0.25f]);
        var weightScales = g.Initializers[DequantizeOf(g, TensorElementType.Int8).Inputs[1]].ToFloatArray();
        Assert.HasCount(2, weightScales);
        Assert.IsTrue(float.IsFinite(weightScales[0]));
        Assert.IsGreaterThanOrEqualTo(QuantizationSpec.WeightEps, weightScales[0]);

        var x = new float[] { 0.25f, -0.5f, 1f, 0.75f };
        var y = RunOrt(g, x);
        var expected = RunOrt(graph, x);
        Assert.AreEqual(0.3f, y[0], 0.01f, "the zero channel gives its bias");
        Assert.AreEqual(expected[1], y[1], 0.05f);
    }

    [TestMethod]
    public void HugeDynamicRangesGiveFiniteScalesAndRun()
    {
        // Activations from 1e-30 to 1e30; weights from 1e-30 to 1 (channel 0) next to ordinary ones (channel 1).
        var graph = Gemm(weight: [1e-30f, 1f, -1e-30f, 1e-20f, -1f, 0.75f, 0.5f, 0.25f], bias: [0f, 0.1f]);
        // MinMax keeps the whole range (the Histogram observer would rightly clip a lone 1e30 outlier).
        var g = Converted(Prepare(graph, observer: o => new MinMaxObserver(o)), [1e-30f, 1e30f, -1e-30f, 1f], [1e-10f, -1e30f, 5f, 1e-30f]);
        foreach (var scales in Scales(g))
        {
            foreach (var s in scales)
                Assert.IsTrue(float.IsFinite(s) && s > 0, $"scale {s}");
        }

        var (scale, _) = ActivationQParams(g, "x");
        Assert.AreEqual(2e30f / 255f, scale, 1e24f, "the ±1e30 range is kept, not lost to overflow");
        var x = new float[] { 0f, 1e29f, 0f, -3e29f };
        var y = RunOrt(g, x);
        var expected = RunOrt(graph, x);
        for (int i = 0; i < y.Length; i++)
            Assert.AreEqual(expected[i], y[i], (Math.Abs(expected[i]) * 0.05f) + (2 * scale), $"output {i}");
    }

    [TestMethod]
    public void RangesWhoseBiasScaleOverflowsFloatAreACalibrationExceptionNamingTheNode()
    {
        // s_in ≈ 7.8e27 (activations ±1e30) times s_w ≈ 7.8e27 (weights 1e30) is not a float32: the int32 bias has no scale.
        var graph = Gemm(weight: [1e-30f, 1e30f, -1e-30f, 1e-20f, -1f, 0.75f, 0.5f, 0.25f], bias: [0f, 0.1f]);
        var prepared = Prepare(graph);
        prepared.Calibrate([[NamedTensor.FromFloats("x", [1e-30f, 1e30f, -1e30f, 1f], 1, 4)]]);
        var ex = Assert.ThrowsExactly<CalibrationException>(() => prepared.Convert());
        StringAssert.Contains(ex.Message, "[b]");
        StringAssert.Contains(ex.Message, "'gemm'");
    }

    [TestMethod]
    public void ReduceRangeQuantizesActivationsToZeroThrough127()
    {
        Func<ObserverOptions, Observer> minMax = o => new MinMaxObserver(o);
        float[][] rows = [[0f, 127f, 64f, 1f], [3f, 5f, 100f, 0f]];
        var reduced = Converted(Prepare(Gemm(), reduceRange: true, observer: minMax), rows);
        var full = Converted(Prepare(Gemm(), reduceRange: false, observer: minMax), rows);

        // [0, 127] over 7 bits is scale 1, zero point 0 (PyTorch reduce_range: quant_max 127); over 8 bits 127/255.
        Assert.AreEqual((1f, 0), ActivationQParams(reduced, "x"));
        Assert.AreEqual((127f / 255f, 0), ActivationQParams(full, "x"));

        // The calibration maximum maps to 127, not 255, and ORT runs the model.
        var (scale, zp) = ActivationQParams(reduced, "x");
        Assert.AreEqual(127f, MathF.Round(127f / scale) + zp);
        var x = new float[] { 10f, 20f, 30f, 40f };
        var y = RunOrt(reduced, x);
        var expected = RunOrt(Gemm(), x);
        for (int i = 0; i < y.Length; i++)
            Assert.AreEqual(expected[i], y[i], Math.Abs(expected[i]) * 0.03f + 0.5f, $"output {i}");
    }
}
