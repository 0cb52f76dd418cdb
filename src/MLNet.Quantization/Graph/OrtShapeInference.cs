using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Graph;

/// <summary>
/// Element types and shapes of intermediate tensors, as ONNX Runtime infers them: the tensors are added to a copy of
/// the model as graph outputs without type information, ORT resolves the graph, and its output metadata is read.
/// No per-op shape inference is written here.
/// </summary>
internal static class OrtShapeInference
{
    /// <summary>Infers the given tensors' types and shapes; symbolic or unknown dims come back as <see cref="Dimension"/>s without a value.</summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime could not load the model.</exception>
    public static IReadOnlyDictionary<string, ValueInfo> Infer(OnnxGraph graph, IEnumerable<string> tensorNames)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var names = tensorNames.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_DISABLE_ALL);
        var session = ExtraOutputsSession.Create(graph, names, options, OrtBoundary.ModelName(graph), "infer shapes");
        using (session)
        {
            var result = new Dictionary<string, ValueInfo>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (!session.OutputMetadata.TryGetValue(name, out var meta) || !meta.IsTensor)
                    continue;
                var dims = meta.Dimensions.Select((d, i) =>
                {
                    string symbol = meta.SymbolicDimensions.ElementAtOrDefault(i) ?? "";
                    return d >= 0 ? new Dimension(d, null) : new Dimension(null, symbol.Length > 0 ? symbol : null);
                }).ToArray();
                result[name] = new ValueInfo(name, FromOrt(meta.ElementDataType), dims);
            }

            return result;
        }
    }

    /// <summary>Infers every node output and records it in the graph's value_info.</summary>
    public static void Annotate(OnnxGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var infos = Infer(graph, graph.Nodes.SelectMany(n => n.Outputs));
        foreach (var info in infos.Values)
            graph.SetValueInfo(info);
    }

    private static TensorElementType FromOrt(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType type) => (TensorElementType)(int)type;
}
