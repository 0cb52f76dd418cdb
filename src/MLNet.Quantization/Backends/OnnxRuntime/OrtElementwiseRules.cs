using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// The float rewrite behind <c>X86Quantizer.QuantizeElementwise</c>: ONNX Runtime's CPU provider fuses a QDQ Add or Mul
/// into <c>com.microsoft</c> QLinearAdd / QLinearMul, but has no int8 Div, so a Div by a constant (the <c>/ 6</c> of a
/// hard-swish written as <c>x · Clip(x + 3, 0, 6) / 6</c>) becomes a Mul by its reciprocal, which can run in int8.
/// </summary>
internal static class OrtElementwiseRules
{
    /// <summary>
    /// Rewrites every <c>Div(x, c)</c> with a float constant divisor whose values and reciprocals are finite and nonzero as
    /// <c>Mul(x, 1/c)</c>, keeping the node's name and output. The result differs from the division by at most one
    /// rounding of <c>1/c</c> (relative 2^-24) and one of the product, within float rounding of the original.
    /// </summary>
    /// <returns>The number of Divs rewritten.</returns>
    public static int DivisionsByConstantsToMultiplications(OnnxGraph graph)
    {
        int rewritten = 0;
        foreach (var div in graph.TopologicalOrder().Where(n => n.OpType == "Div" && n.IsDefaultDomain && n.Inputs.Count == 2).ToList())
        {
            if (graph.TryGetConstant(div.Inputs[0], out _) || !graph.TryGetConstant(div.Inputs[1], out var divisor)
                || divisor.ElementType != TensorElementType.Float)
                continue;
            var values = divisor.ToFloatArray();
            var reciprocals = new float[values.Length];
            bool usable = values.Length > 0;
            for (int i = 0; i < values.Length && usable; i++)
            {
                reciprocals[i] = 1f / values[i];
                usable = float.IsFinite(values[i]) && values[i] != 0 && float.IsFinite(reciprocals[i]) && reciprocals[i] != 0;
            }

            if (!usable)
                continue;
            string reciprocal = graph.AddInitializer(TensorData.FromFloats(graph.UniqueName(div.Inputs[1] + "_reciprocal"), divisor.Dims.ToArray(), reciprocals));
            string x = div.Inputs[0], output = div.Outputs[0], name = div.Name;
            graph.RemoveNode(div, replacingProducer: true);
            graph.AddNode("Mul", [x, reciprocal], [output], name);
            rewritten++;
        }

        if (rewritten > 0)
            graph.RemoveUnusedInitializers();
        return rewritten;
    }
}
