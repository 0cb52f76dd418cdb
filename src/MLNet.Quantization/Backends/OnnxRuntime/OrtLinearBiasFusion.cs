using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// Rewrites a quantized linear on an N-D input with a float bias Add, the exporter's <c>MatMul + Add</c>, as a 2-D
/// Gemm with an int32 bias between two Reshapes, which ONNX Runtime fuses into one <c>com.microsoft:QGemm</c>:
/// <code>
/// x_q → DQ → MatMul(·, DQ(W)) → [Q → DQ] → Add(b) → y
///   becomes
/// x_q → Reshape[-1, K] → DQ → Gemm(·, DQ(W), DQ(b_q)) → Reshape[-1, d1, …, M] → y
/// </code>
/// QLinearMatMul has no bias input, so otherwise ORT runs the MatMul in int8, requantizes its output to uint8,
/// dequantizes it and adds the bias in float: two rounding steps and three nodes where QGemm has none and one.
/// </summary>
/// <remarks>
/// <para>The bias is quantized as a Conv's or Gemm's is: int32, scale s_x · s_w (per output channel when the weight is),
/// zero point 0; the rewrite is skipped when a value would overflow int32. It removes the uint8 requantization of the
/// MatMul output, so the result is closer to float than before (int32 accumulation plus an int32 bias, then float),
/// not bit-identical to the QDQ graph it replaces.</para>
/// <para>The output Reshape gives back the input's leading dims (<see cref="OrtLinearOutputShape"/>): a constant
/// <c>[-1, d1, …, M]</c> when shape inference knows them but one, otherwise computed from the input with <c>Shape</c>,
/// so a linear over a symbolic token dimension is fused as well. The output's rank must be known and at least 3
/// (ORT fuses a 2-D MatMul + Add itself).</para>
/// </remarks>
internal static class OrtLinearBiasFusion
{
    /// <summary>Rewrites every matching linear of <paramref name="graph"/>; returns how many.</summary>
    public static int FuseBiasIntoGemm(OnnxGraph graph)
    {
        var matches = graph.TopologicalOrder().Select(n => Match(graph, n)).OfType<Linear>().ToList();
        if (matches.Count == 0)
            return 0;
        var shapes = OrtShapeInference.Infer(graph, matches.Select(m => m.MatMul.Outputs[0]));
        var outputShapes = new OrtLinearOutputShape(graph);
        int fused = 0;
        foreach (var m in matches)
        {
            // The output [d0, d1, ..., M]: the rank is needed, the leading dims may be symbolic.
            if (shapes.GetValueOrDefault(m.MatMul.Outputs[0])?.Shape is not { Count: >= 3 } shape || shape[^1].Value is { } last && last != m.M)
                continue;
            if (TryRewrite(graph, m, shape, outputShapes))
                fused++;
        }

        if (fused > 0)
            graph.RemoveUnusedInitializers();
        return fused;
    }

    private sealed record Linear(OnnxNode MatMul, OnnxNode InputDq, OnnxNode WeightDq, IReadOnlyList<OnnxNode> Requantize, OnnxNode BiasAdd,
        float[] Bias, long K, long M);

    private static Linear? Match(OnnxGraph graph, OnnxNode matmul)
    {
        if (matmul.OpType != "MatMul" || !matmul.IsDefaultDomain || matmul.Inputs.Count != 2 || matmul.Outputs.Count != 1)
            return null;
        if (graph.GetProducer(matmul.Inputs[0]) is not { OpType: "DequantizeLinear" } inputDq || !SoleReader(graph, inputDq, matmul)
            || !IsScalar(graph, inputDq.Inputs[1]))
            return null;
        if (graph.GetProducer(matmul.Inputs[1]) is not { OpType: "DequantizeLinear" } weightDq || !SoleReader(graph, weightDq, matmul)
            || !graph.TryGetConstant(weightDq.Inputs[0], out var weight) || weight.ElementType != TensorElementType.Int8 || weight.Dims.Count != 2)
            return null;
        long k = weight.Dims[0], n = weight.Dims[1];
        if (!graph.TryGetConstant(weightDq.Inputs[1], out var weightScale) || weightScale.ElementType != TensorElementType.Float
            || !(weightScale.Dims.Count == 0 || (weightScale.Dims is [var channels] && channels == n && weightDq.GetInt("axis", 1) == 1)))
            return null;

        // MatMul → [Q → DQ] → Add(b): the requantization ORT fusion completion adds, then the float bias.
        var requantize = new List<OnnxNode>();
        var current = matmul;
        if (Only(graph, current) is { OpType: "QuantizeLinear" } q && Only(graph, q) is { OpType: "DequantizeLinear" } dq)
        {
            requantize.Add(q);
            requantize.Add(dq);
            current = dq;
        }

        if (Only(graph, current) is not { OpType: "Add" } add || !add.IsDefaultDomain || add.Inputs.Count != 2)
            return null;
        string biasName = add.Inputs[0] == current.Outputs[0] ? add.Inputs[1] : add.Inputs[0];
        if (!graph.TryGetConstant(biasName, out var bias) || bias.ElementType != TensorElementType.Float || bias.Dims is not [var biasLength] || biasLength != n)
            return null;

        return new Linear(matmul, inputDq, weightDq, requantize, add, bias.ToFloatArray(), k, n);
    }

    private static bool TryRewrite(OnnxGraph graph, Linear m, IReadOnlyList<Dimension> outputShape, OrtLinearOutputShape outputShapes)
    {
        graph.TryGetConstant(m.InputDq.Inputs[1], out var inputScaleTensor);
        float inputScale = inputScaleTensor!.ToFloatArray()[0];
        graph.TryGetConstant(m.WeightDq.Inputs[1], out var weightScaleTensor);
        float[] weightScales = weightScaleTensor!.ToFloatArray();
        bool perChannel = weightScaleTensor.Dims.Count == 1;
        var biasScales = new float[perChannel ? m.M : 1];
        var quantized = new int[m.M];
        for (int j = 0; j < m.M; j++)
        {
            float scale = inputScale * weightScales[perChannel ? j : 0];
            if (!(scale > 0f) || !float.IsFinite(scale))
                return false;
            double q = Math.Round(m.Bias[j] / (double)scale, MidpointRounding.ToEven);
            if (q is < int.MinValue or > int.MaxValue)
                return false;
            quantized[j] = (int)q;
            biasScales[perChannel ? j : 0] = scale;
        }

        string name = m.MatMul.Name.Length > 0 ? m.MatMul.Name : m.MatMul.Outputs[0];
        long[] scaleDims = perChannel ? [m.M] : [];
        string biasQ = graph.AddInitializer(TensorData.FromInt32(name + "_bias_quantized", [m.M], quantized));
        string biasScale = graph.AddInitializer(TensorData.FromFloats(name + "_bias_scale", scaleDims, biasScales));
        string biasZero = graph.AddInitializer(TensorData.FromInt32(name + "_bias_zero_point", scaleDims, new int[biasScales.Length]));
        string inShape = graph.AddInitializer(TensorData.FromInt64(name + "_2d_shape", [2], [-1, m.K]));
        string quantizedInput = m.InputDq.Inputs[0];
        var outShape = outputShapes.Write(quantizedInput, outputShape, m.M, name);
        string y = m.BiasAdd.Outputs[0];

        graph.RemoveNode(m.BiasAdd, replacingProducer: true);
        graph.RemoveNodes([m.MatMul, .. m.Requantize]);

        string flat = graph.UniqueName(quantizedInput + "_2d");
        graph.AddNode("Reshape", [quantizedInput, inShape], [flat], name + "_flatten");
        graph.ReplaceInput(m.InputDq, 0, flat);
        string biasDq = graph.UniqueName(name + "_bias_dequantized");
        var dq = graph.AddNode("DequantizeLinear", [biasQ, biasScale, biasZero], [biasDq], name + "_bias_DequantizeLinear");
        if (perChannel)
            dq.SetInt("axis", 0);
        string gemmOut = graph.UniqueName(name + "_gemm_output");
        graph.AddNode("Gemm", [m.InputDq.Outputs[0], m.WeightDq.Outputs[0], biasDq], [gemmOut], name + "_gemm");
        var unflatten = graph.AddNode("Reshape", [gemmOut, outShape.Name], [y], name + "_unflatten");
        if (outShape.AllowZero)
            unflatten.SetInt("allowzero", 1);
        return true;
    }

    /// <summary>The only node reading <paramref name="node"/>'s output, when there is exactly one and it is no graph output.</summary>
    private static OnnxNode? Only(OnnxGraph graph, OnnxNode node) =>
        !graph.IsGraphOutput(node.Outputs[0]) && graph.GetConsumers(node.Outputs[0]) is [{ Node: var reader }] ? reader : null;

    private static bool SoleReader(OnnxGraph graph, OnnxNode dq, OnnxNode reader) =>
        dq.IsDefaultDomain && dq.Outputs.Count == 1 && ReferenceEquals(Only(graph, dq), reader);

    private static bool IsScalar(OnnxGraph graph, string scale) =>
        graph.TryGetConstant(scale, out var t) && t.ElementType == TensorElementType.Float && t.Dims.Count == 0;
}
