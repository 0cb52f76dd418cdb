using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Passes;

/// <summary>
/// Folds <c>BatchNormalization</c>, and a per-channel constant <c>Add</c> (a bias some exporters write as a separate
/// node), into the <c>Conv</c> before it, with the eval-mode formulas
/// <c>w' = w · γ/√(var + ε)</c> per output channel and <c>b' = (b − mean) · γ/√(var + ε) + β</c>, computed in
/// double and rounded to float. Only when the Conv output feeds nothing but the BN and the BN's parameters are constant.
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

        foreach (var add in graph.TopologicalOrder().Where(n => n.OpType == "Add" && n.IsDefaultDomain).ToList())
        {
            if (TryFoldBiasAdd(graph, add))
                folded++;
        }

        graph.RemoveUnusedInitializers();
        return folded;
    }

    /// <summary>Conv → Add(c) where c holds one value per output channel, broadcast along the channel axis: c joins the bias.</summary>
    private static bool TryFoldBiasAdd(OnnxGraph graph, OnnxNode add)
    {
        if (add.Inputs.Count != 2 || graph.IsGraphOutput(add.Outputs[0]))
            return false;
        for (int side = 0; side < 2; side++)
        {
            var conv = graph.GetProducer(add.Inputs[side]);
            if (!IsFoldableConv(graph, conv))
                continue;
            if (!graph.TryGetConstant(add.Inputs[1 - side], out var constant) || !graph.TryGetConstant(conv.Inputs[1], out var weight) || weight.Dims.Count < 3)
                continue;
            int channels = checked((int)weight.Dims[0]);
            int rank = weight.Dims.Count; // the Conv output has the weight's rank (N, C, spatial...)
            var dims = constant.Dims;
            if (constant.ElementCount != channels || dims.Count > rank)
                continue;
            var nonUnit = dims.Select((d, i) => (d, i)).Where(p => p.d != 1).ToList();
            bool perChannel = channels == 1 || (nonUnit.Count == 1 && rank - dims.Count + nonUnit[0].i == 1);
            if (!perChannel)
                continue;
            TensorData? bias = null;
            if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 && !graph.TryGetConstant(conv.Inputs[2], out bias))
                continue;
            var b = bias?.ToFloatArray() ?? new float[channels];
            var c = constant.ToFloatArray();
            var sum = new float[channels];
            for (int k = 0; k < channels; k++)
                sum[k] = b[k] + c[k];
            string bName = graph.AddInitializer(TensorData.FromFloats((bias?.Name ?? conv.Name + ".bias") + "_add_folded", [channels], sum));
            if (conv.Inputs.Count > 2)
            {
                graph.ReplaceInput(conv, 2, bName);
                graph.ReplaceAllUses(add.Outputs[0], conv.Outputs[0]);
                graph.RemoveNode(add);
                return true;
            }

            // the Conv keeps its name (users exclude nodes by name), and takes the folded bias as a new input
            graph.AppendInput(conv, bName);
            graph.ReplaceAllUses(add.Outputs[0], conv.Outputs[0]);
            graph.RemoveNode(add);
            return true;
        }

        return false;
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

        string wName = graph.AddInitializer(TensorData.FromFloats(conv.Inputs[1] + "_bn_folded", weight.Dims.ToArray(), newW));
        string bName = graph.AddInitializer(TensorData.FromFloats((bias?.Name ?? conv.Name + ".bias") + "_bn_folded", [channels], newB));
        graph.ReplaceInput(conv, 1, wName);
        if (conv.Inputs.Count > 2)
        {
            graph.ReplaceInput(conv, 2, bName);
        }
        else
        {
            // Conv has no bias input yet: give it one, keeping the node and its name
            graph.AppendInput(conv, bName);
        }

        graph.ReplaceAllUses(bn.Outputs[0], conv.Outputs[0]);
        graph.RemoveNode(bn);
        return true;
    }
}
