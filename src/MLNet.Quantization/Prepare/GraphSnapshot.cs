using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>
/// What a quantizer may not change while annotating: the nodes (with their inputs, outputs and attributes), the
/// initializers and the graph's inputs and outputs. Taken before <c>Quantizer.Annotate</c> and compared after it.
/// </summary>
internal sealed class GraphSnapshot
{
    private readonly Dictionary<OnnxNode, int> _nodes;
    private readonly Dictionary<string, TensorData> _initializers;
    private readonly string _inputsAndOutputs;

    private GraphSnapshot(Dictionary<OnnxNode, int> nodes, Dictionary<string, TensorData> initializers, string inputsAndOutputs)
    {
        _nodes = nodes;
        _initializers = initializers;
        _inputsAndOutputs = inputsAndOutputs;
    }

    public static GraphSnapshot Take(OnnxGraph graph) => new(
        graph.Nodes.ToDictionary(n => n, n => n.Proto.GetHashCode(), (IEqualityComparer<OnnxNode>)ReferenceEqualityComparer.Instance),
        new Dictionary<string, TensorData>(graph.Initializers, StringComparer.Ordinal),
        InputsAndOutputs(graph));

    /// <summary>What differs in <paramref name="graph"/> from the snapshot, for a message; null when nothing does.</summary>
    public string? FindChange(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            if (!_nodes.TryGetValue(node, out int hash))
                return $"node {node} was added";
            if (node.Proto.GetHashCode() != hash)
                return $"node {node} was edited";
        }

        if (graph.Nodes.Count != _nodes.Count)
            return $"{_nodes.Count - graph.Nodes.Count} node(s) were removed";
        if (graph.Initializers.Count != _initializers.Count
            || graph.Initializers.Any(i => !_initializers.TryGetValue(i.Key, out var before) || !ReferenceEquals(before, i.Value)))
            return "the initializers changed";
        if (InputsAndOutputs(graph) != _inputsAndOutputs)
            return "the graph inputs or outputs changed";
        return null;
    }

    private static string InputsAndOutputs(OnnxGraph graph) =>
        string.Join("\n", graph.Inputs.Select(i => i.Name)) + "\n--\n" + string.Join("\n", graph.Outputs.Select(o => o.Name));
}
