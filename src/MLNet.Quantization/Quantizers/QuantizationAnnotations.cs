using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// The annotations of one graph: a side table from node to <see cref="QuantizationAnnotation"/> (by node reference),
/// plus the nodes a quantizer left in float with the reason. PyTorch keeps the same data in <c>node.meta</c>.
/// </summary>
public sealed class QuantizationAnnotations
{
    private readonly Dictionary<OnnxNode, QuantizationAnnotation> _annotations = new(ReferenceEqualityComparer.Instance);
    private readonly List<SkippedNode> _skipped = [];

    /// <summary>Every annotation, by node.</summary>
    public IReadOnlyDictionary<OnnxNode, QuantizationAnnotation> All => _annotations;

    /// <summary>The nodes left in float, in the order they were recorded.</summary>
    public IReadOnlyList<SkippedNode> SkippedNodes => _skipped;

    /// <summary>The annotation of <paramref name="node"/>, or <c>null</c>.</summary>
    public QuantizationAnnotation? Get(OnnxNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _annotations.GetValueOrDefault(node);
    }

    /// <summary>The annotation of <paramref name="node"/>, created empty (not yet <see cref="QuantizationAnnotation.Annotated"/>) if missing.</summary>
    public QuantizationAnnotation GetOrCreate(OnnxNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_annotations.TryGetValue(node, out var annotation))
        {
            annotation = new QuantizationAnnotation();
            _annotations.Add(node, annotation);
        }

        return annotation;
    }

    /// <summary>Sets (or replaces) the annotation of <paramref name="node"/>.</summary>
    public void Set(OnnxNode node, QuantizationAnnotation annotation)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(annotation);
        _annotations[node] = annotation;
    }

    /// <summary>Removes the annotation of <paramref name="node"/>; true when there was one.</summary>
    public bool Remove(OnnxNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _annotations.Remove(node);
    }

    /// <summary>True when <paramref name="node"/> has an annotation marked <see cref="QuantizationAnnotation.Annotated"/>.</summary>
    public bool IsAnnotated(OnnxNode node) => Get(node)?.Annotated == true;

    /// <summary>Records that <paramref name="node"/> stays in float, and why.</summary>
    public void Skip(OnnxNode node, string reason)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        _skipped.Add(new SkippedNode(node.Name, node.OpType, reason));
    }

    /// <summary>
    /// Checks the annotations against <paramref name="graph"/>: annotated nodes belong to it; input indices name
    /// present inputs; every spec is valid; shared and derived specs refer to nodes of the graph and to edges or
    /// outputs that are quantized themselves; derived specs are bound (not templates); per-channel axes fit the
    /// tensor's rank where it is known.
    /// </summary>
    /// <exception cref="QuantizationAnnotationException">The first problem found, naming the node and input.</exception>
    public void Validate(OnnxGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var inGraph = new HashSet<OnnxNode>(graph.Nodes, ReferenceEqualityComparer.Instance);
        foreach (var (node, annotation) in _annotations)
        {
            if (!inGraph.Contains(node))
                throw new QuantizationAnnotationException($"Annotated node {Describe(node)} is not in graph '{graph.Name}'.");
            foreach (var (index, spec) in annotation.InputQSpecMap)
            {
                string where = $"input {index} of {Describe(node)}";
                if (index < 0 || index >= node.Inputs.Count || node.Inputs[index].Length == 0)
                    throw new QuantizationAnnotationException($"The spec for {where} names an input the node does not have ({node.Inputs.Count} inputs).");
                ValidateSpec(graph, inGraph, spec, where, node.Inputs[index]);
            }

            if (annotation.OutputQSpec is { } output)
            {
                string where = $"output 0 of {Describe(node)}";
                if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
                    throw new QuantizationAnnotationException($"The spec for {where} names an output the node does not have.");
                ValidateSpec(graph, inGraph, output, where, node.Outputs[0]);
            }
        }
    }

    private void ValidateSpec(OnnxGraph graph, HashSet<OnnxNode> inGraph, QuantizationSpecBase spec, string where, string tensor)
    {
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new QuantizationAnnotationException($"Invalid spec for {where}: {e.Message}", e);
        }

        switch (spec)
        {
            case QuantizationSpec q when q.QScheme.IsPerChannel():
                int? rank = Rank(graph, tensor);
                if (rank is int r && q.ChannelAxis >= r)
                    throw new QuantizationAnnotationException($"The per-channel spec for {where} has axis {q.ChannelAxis} but tensor '{tensor}' has rank {r}.");
                break;
            case SharedQuantizationSpec shared:
                ValidateReferencedEdge(graph, inGraph, shared.EdgeOrNode, where, "shares with");
                if (shared.EdgeOrNode.Kind == QuantizationEdgeKind.Input
                    && Get(shared.EdgeOrNode.Node)?.InputQSpecMap.TryGetValue(shared.EdgeOrNode.Index, out _) != true)
                    throw new QuantizationAnnotationException($"The spec for {where} shares with {shared.EdgeOrNode}, which has no spec.");
                if (shared.EdgeOrNode.Kind == QuantizationEdgeKind.Output && !IsOutputQuantized(graph, shared.EdgeOrNode))
                    throw new QuantizationAnnotationException($"The spec for {where} shares with {shared.EdgeOrNode}, which is not quantized.");
                break;
            case DerivedQuantizationSpec derived:
                if (derived.IsTemplate)
                    throw new QuantizationAnnotationException($"The derived spec for {where} names no edges to derive from; bind it to the node (DerivedQuantizationSpec.BindBias).");
                foreach (var edge in derived.DerivedFrom)
                {
                    ValidateReferencedEdge(graph, inGraph, edge, where, "derives from");
                    bool quantized = edge.Kind == QuantizationEdgeKind.Input
                        ? Get(edge.Node)?.InputQSpecMap.ContainsKey(edge.Index) == true
                        : IsOutputQuantized(graph, edge);
                    if (!quantized)
                        throw new QuantizationAnnotationException($"The spec for {where} derives from {edge}, which is not quantized.");
                }

                break;
        }
    }

    private static void ValidateReferencedEdge(OnnxGraph graph, HashSet<OnnxNode> inGraph, QuantizationEdge edge, string where, string verb)
    {
        if (!inGraph.Contains(edge.Node))
            throw new QuantizationAnnotationException($"The spec for {where} {verb} node {Describe(edge.Node)}, which is not in graph '{graph.Name}'.");
        if (string.IsNullOrEmpty(edge.TensorName))
            throw new QuantizationAnnotationException($"The spec for {where} {verb} {edge.Kind.ToString().ToLowerInvariant()} {edge.Index} of {Describe(edge.Node)}, which the node does not have.");
    }

    private bool IsOutputQuantized(OnnxGraph graph, QuantizationEdge output)
    {
        if (output.Index == 0 && Get(output.Node)?.OutputQSpec is not null)
            return true;
        foreach (var consumer in graph.GetConsumers(output.TensorName!))
        {
            if (Get(consumer.Node)?.InputQSpecMap.ContainsKey(consumer.InputIndex) == true)
                return true;
        }

        return false;
    }

    private static int? Rank(OnnxGraph graph, string tensor)
    {
        if (graph.TryGetConstant(tensor, out var constant))
            return constant.Dims.Count;
        return graph.GetValueInfo(tensor)?.Shape?.Count;
    }

    private static string Describe(OnnxNode node) => $"{node.OpType} '{node.Name}'";
}
