using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion;

/// <summary>
/// Raises a model's default-domain ONNX opset (from 7 or later up to 22), rewriting each operator whose schema changed
/// on the way (BatchNormalization's <c>spatial</c>, Clip/Pad/Slice/TopK/Squeeze/Unsqueeze/Split/Reduce attributes that
/// became inputs, Upsample → Resize, Softmax's axis meaning, ...). Operators in other domains are left untouched.
/// </summary>
public static class OnnxOpsetConverter
{
    /// <summary>The lowest source opset accepted.</summary>
    public const int MinSourceOpset = 7;

    /// <summary>The highest target opset (ONNX Runtime 1.31 runs it).</summary>
    public const int MaxTargetOpset = OperatorHistory.MaxOpset;

    /// <summary>Converts <paramref name="model"/> to <paramref name="targetOpset"/>; the model itself is not changed.</summary>
    /// <param name="model">The model to convert; its default-domain opset must be between 7 and <paramref name="targetOpset"/>.</param>
    /// <param name="targetOpset">The opset to raise to, at most <see cref="MaxTargetOpset"/>; 13 by default (what QDQ needs).</param>
    /// <returns>A new model at <paramref name="targetOpset"/>, or an unchanged copy when it is already there.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="OpsetConversionException">
    /// The model's opset is below 7 or above the target, the target is above <see cref="MaxTargetOpset"/>, or a node
    /// cannot be converted (an unknown default-domain op, a subgraph op, or a schema change with no equivalent); the
    /// message names the node, its op, both opsets and the reason.
    /// </exception>
    /// <example>
    /// <code>
    /// var model = OnnxModel.Load("resnet18-opset8.onnx");
    /// OnnxModel converted = OnnxOpsetConverter.Convert(model, targetOpset: 13);
    /// converted.Save("resnet18-opset13.onnx");
    /// </code>
    /// </example>
    public static OnnxModel Convert(OnnxModel model, int targetOpset = 13)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = OnnxGraph.FromModel(model);
        Convert(graph, targetOpset);
        return graph.ToModel();
    }

    /// <summary>Converts <paramref name="graph"/> in place, one opset step at a time.</summary>
    internal static void Convert(OnnxGraph graph, long targetOpset)
    {
        long source = graph.GetOpsetVersion();
        if (source == targetOpset)
            return;
        if (targetOpset > MaxTargetOpset || source > targetOpset || source < MinSourceOpset)
        {
            throw new OpsetConversionException(
                $"Cannot convert model '{Runtime.OrtBoundary.ModelName(graph)}' from ONNX opset {source} to {targetOpset}: only opsets {MinSourceOpset}..{MaxTargetOpset} are converted, and only upwards.",
                null, null, source, targetOpset);
        }

        graph.EnsureUniqueNodeNames(); // adapters name the initializers and nodes they add after the node
        var context = new ConversionContext(graph, source, targetOpset, InferTensorInfo(graph, source, targetOpset));
        for (int opset = (int)source + 1; opset <= targetOpset; opset++)
        {
            foreach (var node in graph.Nodes.Where(n => n.IsDefaultDomain).ToList())
            {
                if (!OperatorHistory.IsKnown(node.OpType))
                    throw context.Refuse(node, opset, "it is not an operator of the default ONNX domain this converter knows");
                if (node.HasSubgraphs)
                    throw context.Refuse(node, opset, "nodes with subgraphs (If, Loop, Scan) are not converted");
                if (AdapterRegistry.Find(node.OpType, opset) is not { } adapter)
                    continue;
                if (node.Inputs.Count == 0 || node.Inputs[0].Length == 0 || node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
                    throw context.Refuse(node, opset, "its first input or output is missing, which every schema of this operator requires");
                adapter.Adapt(node, context);
            }

            graph.SetOpsetVersion("", opset);
        }

        graph.RaiseIrVersion(MinimumIrVersion(targetOpset));
    }

    // The IR version each opset was released with (onnx/helper.py VERSION_TABLE); older IR versions may not import it.
    private static long MinimumIrVersion(long opset) => opset switch
    {
        <= 8 => 3,
        <= 9 => 4,
        <= 10 => 5,
        <= 11 => 6,
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    // Element types and ranks come from the unconverted model, which ONNX Runtime still loads; only when an adapter
    // on the way needs them. When ORT cannot infer (external data, a model it rejects) adapters fall back to defaults.
    private static IReadOnlyDictionary<string, ValueInfo> InferTensorInfo(OnnxGraph graph, long source, long target)
    {
        bool needed = graph.Nodes.Any(n => n.IsDefaultDomain && Enumerable.Range((int)source + 1, (int)(target - source))
            .Any(v => AdapterRegistry.Find(n.OpType, v)?.NeedsTensorInfo == true));
        if (!needed || graph.Source?.UsesExternalData == true)
            return new Dictionary<string, ValueInfo>();
        try
        {
            return OrtShapeInference.Infer(graph, graph.Nodes.SelectMany(n => n.Inputs));
        }
        catch (OnnxGraphException)
        {
            return new Dictionary<string, ValueInfo>();
        }
    }
}
