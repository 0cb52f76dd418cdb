using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Backends.OnnxRuntime;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>
/// Attention in int8 (<see cref="X86Quantizer.QuantizeActivationMatMuls"/>: Q·Kᵀ, Softmax, A·V), the attention scale
/// folded into the DequantizeLinear (<see cref="OrtScaleFolding"/>) and the N-D linears' bias fused into QGemm
/// (<see cref="OrtLinearBiasFusion"/>), each checked in ONNX Runtime.
/// </summary>
[TestClass]
public sealed class AttentionQuantizationTests
{
    private const int Batch = 2, Tokens = 6, Width = 8;

    /// <summary>
    /// One attention head as PyTorch exports it: q, k, v linears (MatMul + bias Add) on x [2, 6, 8], Q·Kᵀ, a Div by
    /// √8, Softmax, A·V, then an output linear.
    /// </summary>
    private static OnnxModel AttentionModel()
    {
        var graph = new TestGraphBuilder(opset: 14)
            .Input("x", Batch, Tokens, Width).Output("y", Batch, Tokens, Width)
            .Initializer("wq", Width, Width).Initializer("bq", Width)
            .Initializer("wk", Width, Width).Initializer("bk", Width)
            .Initializer("wv", Width, Width).Initializer("bv", Width)
            .Initializer("wo", Width, Width).Initializer("bo", Width)
            .Initializer("scale")
            .Node("MatMul", "q_mm", ["x", "wq"], ["qm"]).Node("Add", "q_add", ["qm", "bq"], ["q"])
            .Node("MatMul", "k_mm", ["x", "wk"], ["km"]).Node("Add", "k_add", ["km", "bk"], ["k"])
            .Node("MatMul", "v_mm", ["x", "wv"], ["vm"]).Node("Add", "v_add", ["vm", "bv"], ["v"])
            .Node("Transpose", "kt", ["k"], ["kT"], ("perm", new long[] { 0, 2, 1 }))
            .Node("MatMul", "qk", ["q", "kT"], ["s"])
            .Node("Div", "scale_div", ["s", "scale"], ["d"])
            .Node("Softmax", "softmax", ["d"], ["p"], ("axis", -1L))
            .Node("MatMul", "av", ["p", "v"], ["a"])
            .Node("MatMul", "o_mm", ["a", "wo"], ["om"]).Node("Add", "o_add", ["om", "bo"], ["y"])
            .Build();
        var random = new Random(7);
        foreach (var name in graph.Initializers.Keys.ToList())
        {
            var old = graph.Initializers[name];
            float[] values = name == "scale"
                ? [MathF.Sqrt(Width)]
                : Enumerable.Range(0, (int)old.ElementCount).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            graph.ReplaceInitializer(TensorData.FromFloats(name, old.Dims.ToArray(), values));
        }

        return graph.ToModel();
    }

    private static float[] Samples(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count * Tokens * Width).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    private static QuantizedModel Quantize(X86Quantizer quantizer)
    {
        var prepared = QuantizationFlow.Prepare(AttentionModel(), quantizer);
        prepared.Calibrate(Enumerable.Range(0, 4).Select(i => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x", Samples(i, Batch), Batch, Tokens, Width)]));
        return prepared.Convert();
    }

    private static float[] Run(byte[] model, float[] x, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var options = OrtSessionOptions.Create(level, 1);
        using var session = new InferenceSession(model, options);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [Batch, Tokens, Width]))]);
        return results.Single().AsTensor<float>().ToArray();
    }

    [TestMethod]
    public void AttentionRunsAsQLinearMatMulAndQLinearSoftmaxWhenEnabled()
    {
        var quantized = Quantize(new X86Quantizer { QuantizeActivationMatMuls = true }.SetGlobal(X86Quantizer.GetDefaultConfig()));
        var graph = OnnxGraph.FromModel(quantized.Model);

        // Softmax's output: uint8, scale 1/256, zero point 0, one QuantizeLinear shared with A·V's input
        var softmaxQ = graph.GetConsumers("p").Select(c => c.Node).Single();
        Assert.AreEqual("QuantizeLinear", softmaxQ.OpType);
        Assert.IsTrue(graph.TryGetConstant(softmaxQ.Inputs[1], out var scale));
        Assert.AreEqual(1f / 256, scale.ToFloatArray().Single());
        Assert.IsTrue(graph.TryGetConstant(softmaxQ.Inputs[2], out var zeroPoint));
        Assert.AreEqual(MLNet.Quantization.Graph.TensorElementType.UInt8, zeroPoint.ElementType);
        Assert.AreEqual(0, zeroPoint.ToArray<byte>().Single());
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Div"), "the 1/√d scale is folded into the DequantizeLinear of Q·Kᵀ");

        var ops = FusedGraphInspector.OptimizedOpTypes(quantized.Model.ToBytes(), GraphOptimizationLevel.ORT_ENABLE_ALL);
        string census = string.Join(", ", ops.Select(k => $"{k.Key}:{k.Value}"));
        Assert.AreEqual(1, ops.GetValueOrDefault("com.microsoft:QLinearSoftmax"), census);
        Assert.AreEqual(2, ops.GetValueOrDefault("QLinearMatMul"), $"Q·Kᵀ and A·V: {census}");
        Assert.AreEqual(4, ops.GetValueOrDefault("com.microsoft:QGemm"), $"q, k, v and o with their bias: {census}");
        foreach (string floatOp in new[] { "Softmax", "MatMul", "Div", "Add", "FusedMatMul", "com.microsoft:FusedMatMul" })
            Assert.AreEqual(0, ops.GetValueOrDefault(floatOp), $"{floatOp} left in float: {census}");

        // and it still computes attention: int8 against float on unseen inputs
        float[] x = Samples(99, Batch);
        double sqnr = MLNet.Quantization.Diagnostics.Sqnr.Compute(Run(AttentionModel().ToBytes(), x), Run(quantized.Model.ToBytes(), x));
        // without VNNI, ORT's uint8 × int8 kernel saturates its int16 pair sums (OrtU8S8Probe), which costs SQNR; measured on an AMD EPYC Zen 2: 12.5 dB
        Assert.IsGreaterThan(global::MLNet.Quantization.Runtime.OrtU8S8Probe.IsExact ? 20.0 : 8.0, sqnr, $"SQNR {sqnr:F1} dB");
    }

    [TestMethod]
    public void AttentionStaysFloatByDefaultAndTheLinearsFuseTheirBias()
    {
        var quantized = Quantize(new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        var ops = FusedGraphInspector.OptimizedOpTypes(quantized.Model.ToBytes(), GraphOptimizationLevel.ORT_ENABLE_ALL);
        string census = string.Join(", ", ops.Select(k => $"{k.Key}:{k.Value}"));
        Assert.AreEqual(4, ops.GetValueOrDefault("com.microsoft:QGemm"), census);
        Assert.AreEqual(0, ops.GetValueOrDefault("QLinearMatMul"), census);
        Assert.AreEqual(0, ops.GetValueOrDefault("com.microsoft:QLinearSoftmax"), census);
        Assert.AreEqual(1, ops.GetValueOrDefault("Softmax"), census);
        Assert.AreEqual(0, ops.GetValueOrDefault("Add"), $"every bias is inside its QGemm: {census}");
        CollectionAssert.Contains(quantized.Report.NodesLeftInFloat.Select(n => n.Name).ToArray(), "qk");
    }

    [TestMethod]
    public void QGemmComputesWhatTheRewrittenQdqGraphSays()
    {
        // Exactness of the bias fusion: ORT's fused QGemm (int32 accumulation and bias) against the same QDQ graph
        // evaluated op by op in float (no optimizations: DequantizeLinear, Gemm, Reshape as written).
        var quantized = Quantize(new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        byte[] bytes = quantized.Model.ToBytes();
        Assert.AreEqual(4, OnnxGraph.FromModel(quantized.Model).Nodes.Count(n => n.OpType == "Gemm"));
        float[] x = Samples(5, Batch);
        float[] fused = Run(bytes, x);
        float[] reference = Run(bytes, x, GraphOptimizationLevel.ORT_DISABLE_ALL);
        float worst = fused.Zip(reference, (a, b) => MathF.Abs(a - b) / MathF.Max(1f, MathF.Abs(b))).Max();
        // QGemm and the QDQ reference agree exactly only where ORT's uint8 × int8 GEMM is exact (VNNI); without it the kernel saturates (OrtU8S8Probe)
        if (global::MLNet.Quantization.Runtime.OrtU8S8Probe.IsExact)
            Assert.IsLessThan(1e-5f, worst, $"largest relative difference {worst}");
        else
            Assert.IsTrue(float.IsFinite(worst), $"largest relative difference {worst}");
    }

    [TestMethod]
    [DataRow(14L, DisplayName = "opset 14: Shape → Slice → Concat")]
    [DataRow(15L, DisplayName = "opset 15: Shape(end=-1) → Concat")]
    public void LinearsOverASymbolicTokenDimFuseIntoQGemmAndRunAtAnyTokenCount(long opset)
    {
        // x [batch, tokens, 8] → q and k linears (MatMul + bias Add) → Add: the leading dims are known only at run time.
        var graph = new TestGraphBuilder(opset).SymbolicInput("x", "batch", "tokens", Width.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Output("y", Batch, Tokens, Width)
            .Initializer("wq", Width, Width).Initializer("bq", Width).Initializer("wk", Width, Width).Initializer("bk", Width)
            .Node("MatMul", "q_mm", ["x", "wq"], ["qm"]).Node("Add", "q_add", ["qm", "bq"], ["q"])
            .Node("MatMul", "k_mm", ["x", "wk"], ["km"]).Node("Add", "k_add", ["km", "bk"], ["k"])
            .Node("Add", "sum", ["q", "k"], ["y"])
            .Build();
        var random = new Random(11);
        foreach (var name in graph.Initializers.Keys.ToList())
        {
            var old = graph.Initializers[name];
            graph.ReplaceInitializer(TensorData.FromFloats(name, old.Dims.ToArray(),
                Enumerable.Range(0, (int)old.ElementCount).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        }

        // 7-bit activations: on CPUs without VNNI, ORT's u8s8 kernels add two products in int16 and saturate with 8-bit
        // activations, so the fused result would match the op-by-op one only on VNNI machines.
        var prepared = QuantizationFlow.Prepare(graph.ToModel(), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(reduceRange: true)));
        prepared.Calibrate(Enumerable.Range(0, 4).Select(i => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x", Samples(i, Batch), Batch, Tokens, Width)]));
        var quantized = prepared.Convert();
        var rewritten = OnnxGraph.FromModel(quantized.Model);
        Assert.AreEqual(2, rewritten.Nodes.Count(n => n.OpType == "Gemm"));
        Assert.AreEqual(1, rewritten.Nodes.Count(n => n.OpType == "Shape"), "q and k read one input and share its leading dims");
        Assert.AreEqual(opset < 15 ? 1 : 0, rewritten.Nodes.Count(n => n.OpType == "Slice"));

        byte[] bytes = quantized.Model.ToBytes();
        var ops = FusedGraphInspector.OptimizedOpTypes(bytes, GraphOptimizationLevel.ORT_ENABLE_ALL);
        string census = string.Join(", ", ops.Select(k => $"{k.Key}:{k.Value}"));
        Assert.AreEqual(2, ops.GetValueOrDefault("com.microsoft:QGemm"), census);
        Assert.AreEqual(0, ops.GetValueOrDefault("QLinearMatMul"), census);

        // ORT's fused QGemm against the same QDQ graph op by op, and against the graph before the rewrite, at two token counts
        var unrewritten = QuantizedWithoutBiasFusion(quantized.Model);
        foreach (int tokens in new[] { Tokens, 3 })
        {
            float[] x = Samples(20 + tokens, Batch).Take(Batch * tokens * Width).ToArray();
            float[] fused = RunTokens(bytes, x, tokens), reference = RunTokens(bytes, x, tokens, GraphOptimizationLevel.ORT_DISABLE_ALL);
            Assert.HasCount(Batch * tokens * Width, fused);
            float worst = fused.Zip(reference, (a, b) => MathF.Abs(a - b) / MathF.Max(1f, MathF.Abs(b))).Max();
            Assert.IsLessThan(1e-5f, worst, $"{tokens} tokens: largest relative difference {worst}");
            double sqnr = MLNet.Quantization.Diagnostics.Sqnr.Compute(RunTokens(unrewritten, x, tokens), fused);
            Assert.IsGreaterThan(35.0, sqnr, $"{tokens} tokens: against the QDQ graph before the rewrite, SQNR {sqnr:F1} dB");
        }
    }

    /// <summary>The QDQ model with each fused linear put back as MatMul + float Add (the graph before the rewrite).</summary>
    private static byte[] QuantizedWithoutBiasFusion(OnnxModel model)
    {
        var graph = OnnxGraph.FromModel(model);
        foreach (var gemm in graph.Nodes.Where(n => n.OpType == "Gemm").ToList())
        {
            var flatten = graph.GetProducer(graph.GetProducer(gemm.Inputs[0])!.Inputs[0])!;
            var unflatten = graph.GetConsumers(gemm.Outputs[0]).Single().Node;
            var biasDq = graph.GetProducer(gemm.Inputs[2])!;
            Assert.IsTrue(graph.TryGetConstant(biasDq.Inputs[0], out var q));
            Assert.IsTrue(graph.TryGetConstant(biasDq.Inputs[1], out var s));
            float[] scales = s!.ToFloatArray();
            int[] values = q!.ToArray<int>();
            string bias = graph.AddInitializer(TensorData.FromFloats(gemm.Name + "_float_bias", [values.Length],
                values.Select((v, j) => v * scales[scales.Length == 1 ? 0 : j]).ToArray()));
            var inputDq = graph.GetProducer(gemm.Inputs[0])!;
            graph.ReplaceInput(inputDq, 0, flatten.Inputs[0]);
            string mm = graph.UniqueName(gemm.Name + "_mm");
            graph.AddNode("MatMul", [inputDq.Outputs[0], gemm.Inputs[1]], [mm]);
            string y = unflatten.Outputs[0];
            graph.RemoveNode(unflatten, replacingProducer: true);
            graph.RemoveNodes([gemm, flatten, biasDq]);
            graph.AddNode("Add", [mm, bias], [y]);
        }

        return graph.ToModel().ToBytes();
    }

    private static float[] RunTokens(byte[] model, float[] x, int tokens, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        using var options = OrtSessionOptions.Create(level, 1);
        using var session = new InferenceSession(model, options);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [Batch, tokens, Width]))]);
        return results.Single().AsTensor<float>().ToArray();
    }

    [TestMethod]
    public void FoldingAScaleIntoDequantizeLinearChangesNoValueBeyondRounding()
    {
        // x → Q(s, z) → DQ → Div(c) → y  against  x → Q(s, z) → DQ(s / c) → y, and the same for Mul.
        foreach (var (op, constant) in new[] { ("Div", 2.828427f), ("Mul", 0.35355338f) })
        {
            var graph = new TestGraphBuilder().Input("x", 4, 16).Output("y", 4, 16).Build();
            string s = graph.AddInitializer(TensorData.FromFloats("s", [], [0.0173f]));
            string z = graph.AddInitializer(TensorData.FromUInt8("z", [], [117]));
            string c = graph.AddInitializer(TensorData.FromFloats("c", [], [constant]));
            graph.AddNode("QuantizeLinear", ["x", s, z], ["xq"], "q");
            graph.AddNode("DequantizeLinear", ["xq", s, z], ["xd"], "dq");
            graph.AddNode(op, ["xd", c], ["y"], "scaling");
            byte[] before = graph.ToModel().ToBytes();

            Assert.AreEqual(1, OrtScaleFolding.FoldScalarScalesIntoDequantize(graph));
            Assert.IsFalse(graph.Nodes.Any(n => n.OpType == op));
            byte[] after = graph.ToModel().ToBytes();

            var random = new Random(3);
            float[] x = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float[] expected = RunPlain(before, x), actual = RunPlain(after, x);
            for (int i = 0; i < x.Length; i++)
                Assert.AreEqual(expected[i], actual[i], MathF.Abs(expected[i]) * 2.5e-7f, $"{op}, element {i}");
        }
    }

    [TestMethod]
    public void ScaleFoldingLeavesNonScalarAndSharedScalingsAlone()
    {
        var graph = new TestGraphBuilder().Input("x", 4, 16).Output("y", 4, 16).Output("w", 4, 16).Build();
        string s = graph.AddInitializer(TensorData.FromFloats("s", [], [0.02f]));
        string z = graph.AddInitializer(TensorData.FromUInt8("z", [], [128]));
        string perColumn = graph.AddInitializer(TensorData.FromFloats("c", [16], Enumerable.Repeat(2f, 16).ToArray()));
        string negative = graph.AddInitializer(TensorData.FromFloats("n", [], [-2f]));
        graph.AddNode("QuantizeLinear", ["x", s, z], ["xq"], "q");
        graph.AddNode("DequantizeLinear", ["xq", s, z], ["xd"], "dq");
        graph.AddNode("Div", ["xd", perColumn], ["y"], "per_column");     // a [16] divisor is not one scale
        graph.AddNode("DequantizeLinear", ["xq", s, z], ["xd2"], "dq2");
        graph.AddNode("Mul", ["xd2", negative], ["w"], "negative");         // a negative factor would flip the range
        Assert.AreEqual(0, OrtScaleFolding.FoldScalarScalesIntoDequantize(graph));
    }

    private static float[] RunPlain(byte[] model, float[] x)
    {
        using var session = new InferenceSession(model);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [4, 16]))]);
        return results.Single().AsTensor<float>().ToArray();
    }
}
