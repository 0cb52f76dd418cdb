using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Passes;

/// <summary>
/// Folds <c>BatchNormalization</c>, a constant <c>Add</c> with one value per output channel (a bias some exporters
/// write as a separate node), and a constant <c>Mul</c> with one value per output channel or one for all (the scale of
/// PaddleOCR's learnable affine blocks), into the <c>Conv</c> before it, with the eval-mode formulas
/// <c>w' = w · γ/√(var + ε)</c> per output channel and <c>b' = (b − mean) · γ/√(var + ε) + β</c>, computed in
/// double and rounded to float; a Mul by <c>a</c> gives <c>w' = w · a</c>, <c>b' = b · a</c>, an Add of <c>c</c> gives
/// <c>b' = b + c</c>. Only when the Conv output feeds nothing but the folded node and its parameters are constant.
/// The folded Conv computes the same values within float rounding (one rounding of the product moves into the weight).
/// </summary>
internal static class BatchNormFoldingPass
{
    /// <summary>Folds every eligible Conv → BatchNormalization pair; returns how many.</summary>
    public static int Run(OnnxGraph graph)
    {
        int folded = 0;
        foreach (var bn in graph.TopologicalOrder().Where(n => n.OpType == "BatchNormalization" && n.IsDefaultDomain).ToList())
        {
            if (TryFold(graph, bn))
                folded++;
        }

        // in graph order, so that Conv → Mul → Add folds both
        foreach (var node in graph.TopologicalOrder().Where(n => n.OpType is "Add" or "Mul" && n.IsDefaultDomain).ToList())
        {
            if (node.OpType == "Add" ? TryFoldBiasAdd(graph, node) : TryFoldScale(graph, node))
                folded++;
        }

        graph.RemoveUnusedInitializers();
        return folded;
    }

    /// <summary>
    /// Conv → Add(c) where c holds one value per output channel, broadcast along the channel axis: c joins the bias. A
    /// single shift for all channels (PaddleOCR's learnable affine blocks) stays a separate Add: moving it into the Conv
    /// moves the quantized tensor away from zero, and an affine uint8 range must include zero (measured on PP-OCRv4 det:
    /// output SQNR 14.5 dB with the shift kept apart, 8.8 dB with it folded).
    /// </summary>
    private static bool TryFoldBiasAdd(OnnxGraph graph, OnnxNode add)
    {
        if (FoldableConvOperand(graph, add, allowOneForAll: false) is not var (conv, c, bias, channels))
            return false;
        var b = bias?.ToFloatArray() ?? new float[channels];
        var sum = new float[channels];
        for (int k = 0; k < channels; k++)
            sum[k] = b[k] + c[k];
        ReplaceWithConv(graph, add, conv, null, bias, sum, "_add_folded");
        return true;
    }

    /// <summary>Conv → Mul(a) where a holds one value per output channel, or one for all: a scales the weight and the bias.</summary>
    private static bool TryFoldScale(OnnxGraph graph, OnnxNode mul)
    {
        if (FoldableConvOperand(graph, mul, allowOneForAll: true) is not var (conv, a, bias, channels) || !graph.TryGetConstant(conv.Inputs[1], out var weight))
            return false;
        var w = weight.ToFloatArray();
        int perChannel = w.Length / channels;
        var newW = new float[w.Length];
        for (int k = 0; k < channels; k++)
        {
            for (int i = 0; i < perChannel; i++)
                newW[k * perChannel + i] = (float)((double)w[k * perChannel + i] * a[k]);
        }

        float[]? newB = null;
        if (bias is not null)
        {
            var b = bias.ToFloatArray();
            newB = new float[channels];
            for (int k = 0; k < channels; k++)
                newB[k] = (float)((double)b[k] * a[k]);
        }

        ReplaceWithConv(graph, mul, conv, TensorData.FromFloats(conv.Inputs[1] + "_mul_folded", weight.Dims.ToArray(), newW), bias, newB, "_mul_folded");
        return true;
    }

    /// <summary>
    /// For a two-input Add or Mul fed by a foldable Conv and a float constant with one value per output channel
    /// (broadcast along the channel axis) or, when <paramref name="allowOneForAll"/>, one value for all: the Conv, the constant's value per channel, the Conv's
    /// constant bias (null when it has none) and the channel count; otherwise null.
    /// </summary>
    private static (OnnxNode Conv, float[] PerChannel, TensorData? Bias, int Channels)? FoldableConvOperand(OnnxGraph graph, OnnxNode binary, bool allowOneForAll)
    {
        if (binary.Inputs.Count != 2 || graph.IsGraphOutput(binary.Outputs[0]))
            return null;
        for (int side = 0; side < 2; side++)
        {
            var conv = graph.GetProducer(binary.Inputs[side]);
            if (!IsFoldableConv(graph, conv))
                continue;
            if (!graph.TryGetConstant(binary.Inputs[1 - side], out var constant) || constant.ElementType != TensorElementType.Float
                || !graph.TryGetConstant(conv.Inputs[1], out var weight) || weight.Dims.Count < 3)
                continue;
            int channels = checked((int)weight.Dims[0]);
            int rank = weight.Dims.Count; // the Conv output has the weight's rank (N, C, spatial...)
            var dims = constant.Dims;
            if (dims.Count > rank || (constant.ElementCount != channels && !(allowOneForAll && constant.ElementCount == 1)))
                continue;
            var nonUnit = dims.Select((d, i) => (d, i)).Where(p => p.d != 1).ToList();
            bool perChannel = constant.ElementCount == 1 || (nonUnit.Count == 1 && rank - dims.Count + nonUnit[0].i == 1);
            if (!perChannel)
                continue;
            TensorData? bias = null;
            if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 && !graph.TryGetConstant(conv.Inputs[2], out bias))
                continue;
            var values = constant.ToFloatArray();
            return (conv, values.Length == channels ? values : Enumerable.Repeat(values[0], channels).ToArray(), bias, channels);
        }

        return null;
    }

    /// <summary>
    /// Gives <paramref name="conv"/> the new weight (when not null) and bias (when not null; a new bias input when it had
    /// none), then removes <paramref name="folded"/>, whose readers now read the Conv. The Conv keeps its name (users
    /// exclude nodes by name).
    /// </summary>
    private static void ReplaceWithConv(OnnxGraph graph, OnnxNode folded, OnnxNode conv, TensorData? weight, TensorData? oldBias, float[]? bias, string suffix)
    {
        if (weight is not null)
            graph.ReplaceInput(conv, 1, graph.AddInitializer(weight));
        if (bias is not null)
        {
            string bName = graph.AddInitializer(TensorData.FromFloats((oldBias?.Name ?? conv.Name + ".bias") + suffix, [bias.Length], bias));
            if (conv.Inputs.Count > 2)
                graph.ReplaceInput(conv, 2, bName);
            else
                graph.AppendInput(conv, bName);
        }

        graph.ReplaceAllUses(folded.Outputs[0], conv.Outputs[0]);
        graph.RemoveNode(folded);
    }

    /// <summary>An ONNX Conv (not a same-named op of another domain) whose output feeds only the node being folded into it.</summary>
    private static bool IsFoldableConv(OnnxGraph graph, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] OnnxNode? conv) =>
        conv is { OpType: "Conv", Domain: "" or "ai.onnx" } && conv.Inputs.Count >= 2 && conv.Outputs.Count > 0
        && graph.GetConsumers(conv.Outputs[0]).Count == 1 && !graph.IsGraphOutput(conv.Outputs[0]);

    private static bool TryFold(OnnxGraph graph, OnnxNode bn)
    {
        if (bn.Inputs.Count < 5 || bn.Outputs.Count(o => o.Length > 0) != 1 || graph.IsGraphOutput(bn.Outputs[0]))
            return false;
        if (bn.GetInt("training_mode", 0) != 0)
            return false;
        var conv = graph.GetProducer(bn.Inputs[0]);
        if (!IsFoldableConv(graph, conv))
            return false;
        if (!graph.TryGetConstant(conv.Inputs[1], out var weight) || weight.Dims.Count < 3 || weight.Dims[0] < 1
            || !graph.TryGetConstant(bn.Inputs[1], out var gamma) || !graph.TryGetConstant(bn.Inputs[2], out var beta)
            || !graph.TryGetConstant(bn.Inputs[3], out var mean) || !graph.TryGetConstant(bn.Inputs[4], out var variance))
            return false;
        TensorData? bias = null;
        if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 && !graph.TryGetConstant(conv.Inputs[2], out bias))
            return false;

        var w = weight.ToFloatArray();
        var g = gamma.ToFloatArray();
        var bt = beta.ToFloatArray();
        var m = mean.ToFloatArray();
        var v = variance.ToFloatArray();
        int channels = checked((int)weight.Dims[0]);
        if (g.Length != channels || bt.Length != channels || m.Length != channels || v.Length != channels)
            return false;
        var b = bias?.ToFloatArray() ?? new float[channels];
        double epsilon = bn.GetFloat("epsilon", 1e-5f);
        int perChannel = w.Length / channels;

        var newW = new float[w.Length];
        var newB = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double factor = g[c] / Math.Sqrt(v[c] + epsilon);
            for (int k = 0; k < perChannel; k++)
                newW[c * perChannel + k] = (float)(w[c * perChannel + k] * factor);
            newB[c] = (float)((b[c] - m[c]) * factor + bt[c]);
        }

        ReplaceWithConv(graph, bn, conv, TensorData.FromFloats(conv.Inputs[1] + "_bn_folded", weight.Dims.ToArray(), newW), bias, newB, "_bn_folded");
        return true;
    }
}
