using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// Folds a float scaling by a positive scalar constant into the DequantizeLinear it reads:
/// <c>DQ(x, s, z) → Div(·, c)</c> becomes <c>DQ(x, s / c, z)</c>, and <c>Mul(·, c)</c> becomes <c>DQ(x, s · c, z)</c>.
/// Attention's <c>Q·Kᵀ / √d</c> is the case: with the Div gone the dequantized scores feed Softmax directly, so ONNX
/// Runtime fuses <c>DQ → Softmax → Q</c> into <c>com.microsoft:QLinearSoftmax</c> and drops a float node.
/// </summary>
/// <remarks>
/// The values are those of the real-number QDQ graph, (x − z)·s / c = (x − z)·(s / c); in float the two differ by the
/// rounding of one multiplication (at most one unit in the last place of each value).
/// </remarks>
internal static class OrtScaleFolding
{
    /// <summary>Applies the fold wherever the DequantizeLinear is per-tensor with a float scale and the Div/Mul is its only reader.</summary>
    /// <returns>The number of Div/Mul nodes folded.</returns>
    public static int FoldScalarScalesIntoDequantize(OnnxGraph graph)
    {
        int folded = 0;
        foreach (var dq in graph.TopologicalOrder())
        {
            if (dq.OpType != "DequantizeLinear" || !dq.IsDefaultDomain || dq.Inputs.Count < 2 || dq.Outputs.Count != 1
                || graph.IsGraphOutput(dq.Outputs[0]) || graph.GetConsumers(dq.Outputs[0]) is not [{ Node: var scaling, InputIndex: var index }])
                continue;
            if (Factor(graph, scaling, index) is not var (factor, divide)
                || !graph.TryGetConstant(dq.Inputs[1], out var scaleTensor) || scaleTensor.ElementType != TensorElementType.Float
                || scaleTensor.Dims.Count != 0)
                continue;
            float scale = divide ? scaleTensor.ToFloatArray()[0] / factor : scaleTensor.ToFloatArray()[0] * factor;
            if (!float.IsFinite(scale) || scale <= 0f)
                continue;

            // x → DQ → d → scaling → y   becomes   x → DQ' → y
            var newDq = dq.Proto.Clone();
            newDq.Input[1] = graph.AddInitializer(TensorData.FromFloats(scaleTensor.Name + "_folded", [], [scale]));
            newDq.Output[0] = scaling.Outputs[0];
            graph.RemoveNode(scaling, replacingProducer: true);
            graph.RemoveNode(dq);
            graph.AddNode(newDq);
            folded++;
        }

        if (folded > 0)
            graph.RemoveUnusedInitializers();
        return folded;
    }

    /// <summary>
    /// The constant a Div (by a constant, input 1) or Mul (by a constant, either side) applies to input
    /// <paramref name="index"/>, and whether it divides; null when the node is neither, or the constant is not one
    /// positive finite float of rank 0 or shape [1] (which cannot change the output's shape).
    /// </summary>
    private static (float Constant, bool Divide)? Factor(OnnxGraph graph, OnnxNode node, int index)
    {
        if (!node.IsDefaultDomain || node.Inputs.Count != 2 || node.Outputs.Count != 1 || node.Inputs[0] == node.Inputs[1])
            return null;
        bool div = node.OpType == "Div" && index == 0;
        bool mul = node.OpType == "Mul";
        if (!div && !mul)
            return null;
        if (!graph.TryGetConstant(node.Inputs[1 - index], out var constant) || constant.ElementType != TensorElementType.Float
            || !(constant.Dims.Count == 0 || constant.Dims is [1]))
            return null;
        float c = constant.ToFloatArray()[0];
        if (!float.IsFinite(c) || c <= 0f)
            return null;
        return (c, div);
    }
}
