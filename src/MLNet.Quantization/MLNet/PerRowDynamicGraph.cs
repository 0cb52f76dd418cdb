using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>
/// Rewrites a dynamic QDQ model so that ONNX Runtime computes every activation range per row (per slice along
/// dimension 0) instead of over the whole batch, while the products still run in ORT's int8 GEMM (MatMulIntegerToFloat).
/// </summary>
/// <remarks>
/// <para>ONNX <c>DynamicQuantizeLinear</c> and ORT's <c>DynamicQuantizeMatMul</c> take one scale and zero point for
/// the whole input tensor, and ORT's <c>MatMulInteger</c> and <c>MatMulIntegerToFloat</c> accept only a per-tensor
/// zero point for A. <c>MatMulIntegerToFloat</c> does take an A scale of shape [rows, 1, ...], applied to the product.
/// Each dynamic linear <c>y = x·W + b</c> (W int8 [K, N], per-channel or per-tensor scale, zero point 0) is therefore
/// written out as the arithmetic of ORT's fused kernel, with the range taken per row:</para>
/// <code>
/// lo   = Min(ReduceMin(x, all axes but 0, keepdims), 0);  hi = Max(ReduceMax(x, ...), 0)      [rows, 1, ...]
/// s    = max((hi − lo) / 255, 2^-126);  zp = Round(−lo / s)            ORT's formula (scale 1 for an all-zero row)
/// q    = QuantizeLinear(x, s, zp, axis 0)                                              uint8
/// y    = MatMulIntegerToFloat(q, W, a_scale s, b_scale w_scale) − (s · zp · w_scale · colsum(W) − b)
/// </code>
/// <para>W stays int8 where ORT's uint8 × int8 GEMM is exact on this CPU (<see cref="Runtime.OrtU8S8Probe"/>) and is
/// stored as uint8 with zero point 128 elsewhere. An input whose rank ORT cannot infer is viewed as [rows, -1, K] and
/// the product reshaped back.</para>
/// <para>Integer products are exact and every other op is elementwise or reduces within one row, so a row's output
/// does not depend on the other rows of its batch. A batch of one row computes the qparams of the per-tensor graph;
/// its outputs differ from the per-tensor graph's only by float rounding (the zero-point term is subtracted in float).</para>
/// <para>The rewrite gives up (returns null) when any dynamic quantization is left that it cannot express per row,
/// for example an activation × activation product.</para>
/// </remarks>
internal static class PerRowDynamicGraph
{
    private const string MicrosoftDomain = "com.microsoft";
    private const float SmallestNormal = 1.17549435e-38f;

    /// <summary>The per-row model, or null when some dynamic quantization of <paramref name="model"/> has no per-row form here.</summary>
    /// <param name="model">The dynamic QDQ model.</param>
    /// <param name="signedWeights">int8 weights (uint8 × int8 GEMM) or uint8 weights with zero point 128; null: int8 where
    /// <see cref="Runtime.OrtU8S8Probe.IsExact"/>.</param>
    public static OnnxModel? TryRewrite(OnnxModel model, bool? signedWeights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = OnnxGraph.FromModel(model);
        if (graph.Nodes.Any(n => n.OpType == "MatMulIntegerToFloat"))
            return null; // a per-tensor product written by the model itself
        var linears = graph.Nodes.Select(n => (Node: n, Linear: TryMatch(graph, n))).Where(m => m.Linear is not null).ToList();
        var ranks = linears.Count == 0 ? new Dictionary<string, ValueInfo>() : OrtShapeInference.Infer(graph, linears.Select(m => m.Linear!.Input));
        bool signed = signedWeights ?? Runtime.OrtU8S8Probe.IsExact;
        foreach (var (node, match) in linears)
        {
            var linear = match!;
            int? rank = ranks.TryGetValue(linear.Input, out var info) ? info.Shape?.Count : null;
            string output = node.Outputs[0];
            graph.RemoveNode(node, replacingProducer: true);
            if (linear.Bias is null && BiasAdd(graph, output, linear.N) is { } add)
            {
                // The Add of a constant [N] bias that alone reads the product joins the per-row correction, which
                // is added anyway: one pass over the output fewer.
                linear = linear with { Bias = add.Bias };
                graph.RemoveNode(add.Node, replacingProducer: true);
                output = add.Node.Outputs[0];
            }

            EmitPerRow(graph, linear, output, node.Name, rank, signed);
        }

        bool rewritten = linears.Count > 0;
        if (graph.GetOpsetVersion(MicrosoftDomain) == 0)
            graph.SetOpsetVersion(MicrosoftDomain, 1);

        RemoveDeadQuantization(graph);
        if (!rewritten || graph.Nodes.Any(n => n.OpType is "DynamicQuantizeLinear" or "DynamicQuantizeMatMul"))
            return null;
        graph.RemoveUnusedInitializers();
        return graph.ToModel();
    }

    /// <summary>The Add that alone reads <paramref name="product"/> and adds a constant float bias of shape [N], if any.</summary>
    private static (OnnxNode Node, string Bias)? BiasAdd(OnnxGraph graph, string product, int n)
    {
        if (graph.IsGraphOutput(product) || graph.GetConsumers(product) is not [{ Node: { OpType: "Add", IsDefaultDomain: true } add }] || add.Inputs.Count != 2)
            return null;
        string bias = add.Inputs[0] == product ? add.Inputs[1] : add.Inputs[0];
        if (bias == product || !graph.TryGetConstant(bias, out var b) || b.ElementType != TensorElementType.Float || b.Dims.Count != 1 || b.Dims[0] != n)
            return null;
        return (add, bias);
    }

    /// <summary>A dynamic linear: float input, int8 weight [K, N], weight scales (1 or N), optional float bias [N].</summary>
    private sealed record Linear(string Input, sbyte[] Weight, int K, int N, float[] WeightScale, string? Bias);

    private static Linear? TryMatch(OnnxGraph graph, OnnxNode node)
    {
        if (node.OpType == "DynamicQuantizeMatMul" && node.Domain == MicrosoftDomain)
        {
            string? bias = node.Inputs.Count > 4 && node.Inputs[4].Length > 0 ? node.Inputs[4] : null;
            string? zeroPoint = node.Inputs.Count > 3 && node.Inputs[3].Length > 0 ? node.Inputs[3] : null;
            return Weight(graph, node.Inputs[1], node.Inputs[2], zeroPoint, axis: 1) is { } w ? w with { Input = node.Inputs[0], Bias = bias } : null;
        }

        if (node.OpType != "MatMul" || !node.IsDefaultDomain)
            return null;
        if (graph.GetProducer(node.Inputs[0]) is not { OpType: "DequantizeLinear" } dqA
            || graph.GetProducer(dqA.Inputs[0]) is not { OpType: "DynamicQuantizeLinear" } dynamic
            || dqA.Inputs.Count < 3 || dqA.Inputs[1] != dynamic.Outputs[1] || dqA.Inputs[2] != dynamic.Outputs[2]
            || graph.GetProducer(node.Inputs[1]) is not { OpType: "DequantizeLinear" } dqW)
            return null;
        string? wZeroPoint = dqW.Inputs.Count > 2 && dqW.Inputs[2].Length > 0 ? dqW.Inputs[2] : null;
        return Weight(graph, dqW.Inputs[0], dqW.Inputs[1], wZeroPoint, dqW.GetInt("axis", 1)) is { } weight ? weight with { Input = dynamic.Inputs[0] } : null;
    }

    /// <summary>A constant int8 [K, N] weight with zero points 0 and a scale per tensor or per column.</summary>
    private static Linear? Weight(OnnxGraph graph, string weight, string scale, string? zeroPoint, long axis)
    {
        if (!graph.TryGetConstant(weight, out var w) || w.ElementType != TensorElementType.Int8 || w.Dims.Count != 2
            || !graph.TryGetConstant(scale, out var s) || s.ElementType != TensorElementType.Float)
            return null;
        int k = checked((int)w.Dims[0]), n = checked((int)w.Dims[1]);
        var scales = s.ToFloatArray();
        if (!(scales.Length == 1 && s.Dims.Count <= 1) && !(scales.Length == n && s.Dims.Count == 1 && axis is 1 or -1))
            return null;
        if (zeroPoint is not null && (!graph.TryGetConstant(zeroPoint, out var zp) || zp.ElementType != TensorElementType.Int8 || zp.ToArray<sbyte>().Any(z => z != 0)))
            return null;
        return new Linear("", w.ToArray<sbyte>(), k, n, scales, null);
    }

    private static void EmitPerRow(OnnxGraph graph, Linear linear, string output, string name, int? rank, bool signedWeights)
    {
        var emit = new Emitter(graph, name, graph.GetOpsetVersion());
        // With the input's rank known the reductions keep its dimensions and the per-row scale broadcasts against the
        // product directly; otherwise the input is viewed as [rows, M, K] and the product reshaped back.
        bool reshape = rank is not >= 2;
        int r = reshape ? 3 : rank!.Value;
        string x = reshape ? emit.Op("Reshape", linear.Input, emit.Int64s([0, -1, linear.K])) : linear.Input;
        long[] axes = Enumerable.Range(1, r - 1).Select(a => (long)a).ToArray();
        string lo = emit.Op("Min", emit.Reduce("ReduceMin", x, axes), emit.Float(0));
        string hi = emit.Op("Max", emit.Reduce("ReduceMax", x, axes), emit.Float(0));
        string range = emit.Op("Sub", hi, lo);
        // ORT takes scale 1 for an all-zero row; any positive scale gives such a row the same codes (zero point 0, all
        // codes 0) and outputs, so the smallest normal float, 2^-126, stands in for it (one Max instead of Equal and
        // Where; a range below 255 · 2^-126 is taken as that).
        string scale = emit.Op("Max", emit.Op("Div", range, emit.Float(255)), emit.Float(SmallestNormal));
        // lo ≤ 0 ≤ hi, so −lo / s lies in [0, 255] up to rounding and Round alone gives ORT's clamped zero point.
        string zeroFloat = emit.Op("Round", emit.Op("Div", emit.Op("Neg", lo), scale));
        string zeroPoint = emit.Cast(zeroFloat, TensorElementType.UInt8);
        var quantize = emit.Node("QuantizeLinear", x, emit.Op("Reshape", scale, emit.Int64s([-1])), emit.Op("Reshape", zeroPoint, emit.Int64s([-1])));
        quantize.Node.SetInt("axis", 0);
        // Where ORT's uint8 × int8 GEMM saturates (x86 without VNNI adds pairs of products in int16, VPMADDUBSW), the
        // weights are stored as uint8 with zero point 128 (exactly the int8 values), whose uint8 × uint8 kernel does not.
        string weight, weightZeroPoint = "";
        if (signedWeights)
        {
            weight = emit.Constant(TensorData.FromInt8(name + "_weight", [linear.K, linear.N], linear.Weight));
        }
        else
        {
            var shifted = linear.Weight.Select(w => (byte)(w + 128)).ToArray();
            weight = emit.Constant(TensorData.FromUInt8(name + "_weight", [linear.K, linear.N], shifted));
            weightZeroPoint = emit.Constant(TensorData.FromUInt8(name + "_weight_zero_point", [], [128]));
        }

        long[] scaleDims = linear.WeightScale.Length == 1 ? [] : [linear.N];
        string weightScale = emit.Constant(TensorData.FromFloats(name + "_weight_scale", scaleDims, linear.WeightScale));
        // s · w_scale · Σ q·w, the row's scale applied by the kernel to its rows (a_scale of shape [rows, 1, ...]).
        var product = emit.NodeIn(MicrosoftDomain, "MatMulIntegerToFloat", quantize.Output, weight, scale, weightScale, "", weightZeroPoint);
        // minus s · zp · w_scale · Σ w (the row's zero point), plus the bias: one [rows, 1, ..., N] correction.
        string correction = emit.Op("Mul", emit.Op("Mul", scale, zeroFloat), emit.Constant(TensorData.FromFloats(name + "_scaled_colsum", [linear.N], ScaledColumnSums(linear))));
        if (linear.Bias is not null)
            correction = emit.Op("Sub", correction, linear.Bias);
        if (!reshape)
        {
            graph.AddNode("Sub", [product.Output, correction], [output], name);
            return;
        }

        string y = emit.Op("Sub", product.Output, correction);
        var leading = emit.Node("Slice", emit.Op("Shape", linear.Input), emit.Int64s([0]), emit.Int64s([-1]));
        string shape = emit.Op("Concat", leading.Output, emit.Int64s([linear.N]));
        graph.GetProducer(shape)!.SetInt("axis", 0);
        graph.AddNode("Reshape", [y, shape], [output], name);
    }

    /// <summary>Σ_k W[k, n] · w_scale[n] per output column, in double then float.</summary>
    private static float[] ScaledColumnSums(Linear linear)
    {
        var sums = ColumnSums(linear);
        return sums.Select((sum, c) => (float)((double)sum * linear.WeightScale[linear.WeightScale.Length == 1 ? 0 : c])).ToArray();
    }

    private static int[] ColumnSums(Linear linear)
    {
        var sums = new int[linear.N];
        for (int r = 0; r < linear.K; r++)
        {
            for (int c = 0; c < linear.N; c++)
                sums[c] += linear.Weight[r * linear.N + c];
        }

        return sums;
    }

    /// <summary>Removes DequantizeLinear and DynamicQuantizeLinear nodes nothing reads any more.</summary>
    private static void RemoveDeadQuantization(OnnxGraph graph)
    {
        bool removed = true;
        while (removed)
        {
            removed = false;
            foreach (var node in graph.Nodes.Where(n => n.OpType is "DequantizeLinear" or "DynamicQuantizeLinear").ToList())
            {
                if (node.Outputs.All(o => o.Length == 0 || (!graph.IsUsed(o) && !graph.IsGraphOutput(o))))
                {
                    graph.RemoveNode(node);
                    removed = true;
                }
            }
        }
    }

    /// <summary>Adds nodes and constants named after the linear they replace.</summary>
    private sealed class Emitter(OnnxGraph graph, string prefix, long opset)
    {
        public (OnnxNode Node, string Output) Node(string opType, params string[] inputs) => NodeIn("", opType, inputs);

        public (OnnxNode Node, string Output) NodeIn(string domain, string opType, params string[] inputs)
        {
            string output = graph.UniqueName($"{prefix}_{opType}");
            return (graph.AddNode(opType, inputs, [output], output, domain), output);
        }

        public string Op(string opType, params string[] inputs) => Node(opType, inputs).Output;

        public string Cast(string input, TensorElementType to)
        {
            var cast = Node("Cast", input);
            cast.Node.SetInt("to", (long)to);
            return cast.Output;
        }

        /// <summary>Reduces over <paramref name="axes"/> (all but the first) to one value per row, dimensions kept (axes an attribute before opset 18, an input from 18).</summary>
        public string Reduce(string opType, string input, long[] axes)
        {
            var reduce = opset >= 18 ? Node(opType, input, Int64s(axes)) : Node(opType, input);
            if (opset < 18)
                reduce.Node.SetInts("axes", axes);
            reduce.Node.SetInt("keepdims", 1);
            return reduce.Output;
        }

        public string Float(float value) => Constant(TensorData.FromFloats($"{prefix}_f", [], [value]));

        public string Int64s(long[] values) => Constant(TensorData.FromInt64($"{prefix}_i", [values.Length], values));

        public string Constant(TensorData tensor) => graph.AddInitializer(tensor);
    }
}
