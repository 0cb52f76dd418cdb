using System.Globalization;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>
/// The checks a model passes before any graph is built or ONNX Runtime sees it: its node count (graph and subgraphs)
/// is within <see cref="PrepareOptions.MaxNodeCount"/>, and it is not already quantized.
/// </summary>
internal static class ModelAdmission
{
    /// <summary>Refuses a model with more nodes than <paramref name="options"/> allow.</summary>
    /// <exception cref="OnnxGraphException">The model has more nodes than <see cref="PrepareOptions.MaxNodeCount"/>.</exception>
    public static ModelCensus CheckSize(OnnxModel model, PrepareOptions options)
    {
        var census = ModelCensus.Of(model.Proto);
        if (census.NodeCount > options.MaxNodeCount)
        {
            throw new OnnxGraphException(string.Create(CultureInfo.InvariantCulture,
                $"Model '{model.DisplayName}' has {census.NodeCount:N0} nodes (main graph, subgraphs and functions), over the limit of {options.MaxNodeCount:N0}: ONNX Runtime needs several KB of memory per node for each session quantizing builds. If the model is genuine, raise the limit (--max-nodes N, or PrepareOptions.MaxNodeCount / QuantizationOptions.MaxNodeCount)."));
        }

        return census;
    }

    /// <summary>
    /// Refuses a model that already holds any quantized operator (QuantizeLinear, DequantizeLinear,
    /// DynamicQuantizeLinear, QLinear*, MatMulInteger, ConvInteger, ...): quantizing it again would stack a second set of
    /// Q/DQ pairs on the first. A float model with one int8-compressed weight behind a DequantizeLinear is refused too;
    /// the rule is simple on purpose, and the float original is what to give.
    /// </summary>
    /// <exception cref="OnnxGraphException">The model holds quantized operators (counted by type in the message).</exception>
    public static void CheckNotQuantized(OnnxModel model, ModelCensus census)
    {
        if (census.QuantizedOpCount == 0)
            return;
        string found = string.Join(", ", census.QuantizedOps.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Value} {p.Key}")));
        throw new OnnxGraphException(
            $"Model '{model.DisplayName}' is already quantized: it has {found} node(s). Quantizing it again would stack new Q/DQ pairs on the old ones; give the float model instead.");
    }
}
