using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Quantizers;
using TensorElementType = MLNet.Quantization.Graph.TensorElementType;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class ConvertDetailsTests
{
    private static OnnxGraph Gemm(long transB, float[] weight, float[] bias)
    {
        var builder = new TestGraphBuilder().Input("x", 1, 4).Output("y", 1, 2);
        var graph = builder.Node("Gemm", "gemm", ["x", "w", "b"], ["y"], ("transB", transB)).Build();
        graph.AddInitializer(TensorData.FromFloats("w", transB == 1 ? [2, 4] : [4, 2], weight));
        graph.AddInitializer(TensorData.FromFloats("b", [2], bias));
        return graph;
    }

    private static OnnxGraph Convert(OnnxGraph graph, float[] calibration)
    {
        var prepared = QuantizationFlow.Prepare(graph.ToModel(), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        prepared.Calibrate([[NamedTensor.FromFloats("x", calibration, 1, 4)]]);
        return OnnxGraph.FromModel(prepared.Convert().Model);
    }

    private static OnnxNode WeightDequantize(OnnxGraph g) =>
        g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == TensorElementType.Int8);

    [TestMethod]
    [DataRow(1L, 0L)]
    [DataRow(0L, 1L)]
    public void GemmWeightAxisFollowsTransB(long transB, long expectedAxis)
    {
        var w = Enumerable.Range(0, 8).Select(i => (i + 1) * 0.1f).ToArray();
        var g = Convert(Gemm(transB, w, [0.1f, -0.1f]), [0.5f, -0.25f, 1f, 0.75f]);
        var dq = WeightDequantize(g);
        Assert.AreEqual(expectedAxis, dq.GetInt("axis", -1));
        Assert.AreEqual(2, g.Initializers[dq.Inputs[1]].ToFloatArray().Length, "one scale per output column");
    }

    [TestMethod]
    public void BiasIsInt32WithScaleInputTimesWeight()
    {
        // transB = 1, W rows (output channels) [0.1..0.4] and [0.5..0.8]: symmetric int8 per channel → s_w = max|w| / 127.5
        var w = Enumerable.Range(0, 8).Select(i => (i + 1) * 0.1f).ToArray();
        var g = Convert(Gemm(1, w, [0.1f, -0.1f]), [0f, 0.51f, 1.02f, 0.25f]);
        var q = g.Nodes.Single(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "x");
        float sIn = g.Initializers[q.Inputs[1]].ToFloatArray()[0];
        float[] sW = g.Initializers[WeightDequantize(g).Inputs[1]].ToFloatArray();
        Assert.AreEqual(0.4f / 127.5f, sW[0]);
        Assert.AreEqual(0.8f / 127.5f, sW[1]);
        var biasDq = g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == TensorElementType.Int32);
        var biasScale = g.Initializers[biasDq.Inputs[1]].ToFloatArray();
        Assert.AreEqual(sIn * sW[0], biasScale[0]);
        Assert.AreEqual(sIn * sW[1], biasScale[1]);
        CollectionAssert.AreEqual(new[] { 0, 0 }, g.Initializers[biasDq.Inputs[2]].ToArray<int>());
        var q32 = g.Initializers[biasDq.Inputs[0]].ToArray<int>();
        Assert.AreEqual((int)MathF.Round(0.1f / biasScale[0]), q32[0]);
    }

    [TestMethod]
    public void TinyScalesDoNotOverflowTheInt32Bias()
    {
        // s_in = 1e-3/255 ≈ 3.9e-6 and s_w = 1e-6/127.5 ≈ 7.8e-9, so bias 1000 / (s_in·s_w) ≈ 3e13 would overflow int32.
        // The guard raises channel 0's weight scale until |bias| / (s_in·s_w') fits; the model still computes ≈ 1000.
        var w = new float[] { 1e-6f, 1e-6f, 1e-6f, 1e-6f, 0.5f, 0.25f, -0.5f, 0.125f };
        var x = new float[] { 1e-3f, 0.5e-3f, 0f, 0.25e-3f };
        var g = Convert(Gemm(1, w, [1000f, 0.5f]), x);
        var biasDq = g.Nodes.Single(n => n.OpType == "DequantizeLinear" && g.Initializers.TryGetValue(n.Inputs[0], out var t) && t.ElementType == TensorElementType.Int32);
        var q32 = g.Initializers[biasDq.Inputs[0]].ToArray<int>();
        var scale = g.Initializers[biasDq.Inputs[1]].ToFloatArray();
        Assert.IsLessThan(int.MaxValue, Math.Abs((long)q32[0]));
        Assert.AreEqual(1000.0, q32[0] * (double)scale[0], 1.0, "the int32 bias still represents 1000");

        using var session = new InferenceSession(g.ToModel().ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 4]))]);
        var y = results.Single().AsTensor<float>().ToArray();
        Assert.AreEqual(1000f, y[0], 1f);
        float expected1 = 0.5f * x[0] + 0.25f * x[1] - 0.5f * x[2] + 0.125f * x[3] + 0.5f;
        Assert.AreEqual(expected1, y[1], 0.01f);
    }
}
