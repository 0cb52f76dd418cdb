using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Turns annotations into shared groups, as PT2E's prepare does: <see cref="SharedQuantizationSpec"/> unions edges
/// (transitively), and an input edge implicitly shares with the other consumers' edges of its tensor and with the
/// producer's output when their root specs (shared specs unwrapped) agree on dtype, dynamism, range, scheme, axis and
/// fixed qparams, so a tensor read by several consumers, or annotated both as a producer's output and a consumer's
/// input, is observed once; a pool's output shared with its input then also shares with the next consumer.
/// </summary>
internal sealed class SpecResolver
{
    private readonly Dictionary<QuantizationEdge, QuantizationEdge> _parent = [];

    public static (List<QuantGroup> Groups, Dictionary<QuantizationEdge, QuantGroup> ByEdge) Resolve(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        var resolver = new SpecResolver();
        var order = graph.TopologicalOrder();
        var entries = new List<(QuantizationEdge Edge, QuantizationSpecBase Spec)>();
        foreach (var node in order)
        {
            if (annotations.Get(node) is not { } annotation)
                continue;
            foreach (var (index, spec) in annotation.InputQSpecMap.OrderBy(kv => kv.Key))
            {
                if (index < node.Inputs.Count && node.Inputs[index].Length > 0)
                    entries.Add((QuantizationEdge.Input(node, index), spec));
            }

            if (annotation.OutputQSpec is { } output)
                entries.Add((QuantizationEdge.Output(node, 0), output));
        }

        foreach (var (edge, _) in entries)
            resolver.Find(edge);
        var specByEdge = entries.ToDictionary(e => e.Edge, e => e.Spec);
        var inputEdgesByTensor = entries.Where(e => e.Edge.IsInput).GroupBy(e => e.Edge.TensorName!)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Edge).ToList());
        foreach (var (edge, spec) in entries)
        {
            if (edge.IsInput)
            {
                // Implicit sharing (PT2E's _get_edge_or_node_to_group_id): an input edge joins the other consumers'
                // edges of the same tensor, then the producer's output, when their root specs agree on dtype,
                // dynamism, range, scheme, axis and fixed qparams. Observer types are not compared.
                var rootKey = ImplicitSharingKey(resolver.Unwrap(spec, specByEdge));
                if (rootKey is not null)
                {
                    foreach (var other in inputEdgesByTensor[edge.TensorName!])
                    {
                        if (other != edge && Equals(ImplicitSharingKey(resolver.Unwrap(specByEdge[other], specByEdge)), rootKey))
                            resolver.Union(other, edge);
                    }

                    if (graph.GetProducer(edge.TensorName!) is { } producer && producer.Outputs[0] == edge.TensorName
                        && specByEdge.TryGetValue(QuantizationEdge.Output(producer, 0), out var producerSpec)
                        && Equals(ImplicitSharingKey(resolver.Unwrap(producerSpec, specByEdge)), rootKey))
                        resolver.Union(QuantizationEdge.Output(producer, 0), edge);
                }
            }

            if (spec is SharedQuantizationSpec shared)
                resolver.Union(shared.EdgeOrNode, edge);
        }

        var members = new Dictionary<QuantizationEdge, List<QuantizationEdge>>();
        foreach (var edge in resolver._parent.Keys.ToList())
        {
            var root = resolver.Find(edge);
            if (!members.TryGetValue(root, out var list))
                members[root] = list = [];
            list.Add(edge);
        }

        var groups = new List<QuantGroup>();
        var byEdge = new Dictionary<QuantizationEdge, QuantGroup>();
        foreach (var (_, edges) in members.OrderBy(m => MinOrder(m.Value, entries)))
        {
            var rootSpec = edges.Select(e => specByEdge.GetValueOrDefault(e)).FirstOrDefault(s => s is not null and not SharedQuantizationSpec)
                ?? throw new QuantizationAnnotationException(
                    $"Edges [{string.Join("; ", edges)}] only share qparams with each other: none of them has a spec to share.");
            var kind = rootSpec switch
            {
                DerivedQuantizationSpec => QuantGroupKind.Derived,
                FixedQParamsQuantizationSpec => QuantGroupKind.Fixed,
                QuantizationSpec { IsDynamic: true } => QuantGroupKind.Dynamic,
                _ => edges.All(e => e.TensorName is { } t && graph.TryGetConstant(t, out _)) ? QuantGroupKind.Weight : QuantGroupKind.Activation,
            };
            var group = new QuantGroup(groups.Count, rootSpec, kind);
            foreach (var e in edges)
            {
                group.Edges.Add(e);
                if (e.TensorName is { Length: > 0 } t)
                    group.Tensors.Add(t);
                byEdge[e] = group;
            }

            if (rootSpec is QuantizationSpec spec && kind is QuantGroupKind.Activation or QuantGroupKind.Weight or QuantGroupKind.Dynamic)
                group.Observer = CreateObserver(spec);
            groups.Add(group);
        }

        return (groups, byEdge);
    }

    private static int MinOrder(List<QuantizationEdge> edges, List<(QuantizationEdge Edge, QuantizationSpecBase Spec)> entries)
    {
        int best = int.MaxValue;
        for (int i = 0; i < entries.Count; i++)
        {
            if (edges.Contains(entries[i].Edge))
            {
                best = i;
                break;
            }
        }

        return best;
    }

    /// <summary>The attributes PT2E compares for implicit sharing; <c>null</c> for specs that never share implicitly.</summary>
    private static object? ImplicitSharingKey(QuantizationSpecBase? spec) => spec switch
    {
        QuantizationSpec q => (q.DataType, q.IsDynamic, q.QuantMin, q.QuantMax, q.QScheme, q.ChannelAxis, q.ReduceRange),
        FixedQParamsQuantizationSpec f => (f.DataType, f.QuantMin, f.QuantMax, f.Scale, f.ZeroPoint),
        _ => null,
    };

    /// <summary>Follows <see cref="SharedQuantizationSpec"/> links (through the current union roots) to a real spec.</summary>
    private QuantizationSpecBase? Unwrap(QuantizationSpecBase spec, Dictionary<QuantizationEdge, QuantizationSpecBase> specByEdge)
    {
        for (int hops = 0; spec is SharedQuantizationSpec shared && hops <= specByEdge.Count; hops++)
        {
            if (!specByEdge.TryGetValue(Find(shared.EdgeOrNode), out var next) && !specByEdge.TryGetValue(shared.EdgeOrNode, out next))
                return null;
            spec = next;
        }

        return spec is SharedQuantizationSpec ? null : spec;
    }

    private static Observer CreateObserver(QuantizationSpec spec)
    {
        var options = spec.ToObserverOptions();
        if (spec.ObserverFactory is { } factory)
            return factory(options);
        if (spec.IsDynamic)
            return new PlaceholderObserver(options);
        return options.QScheme.IsPerChannel() ? new PerChannelMinMaxObserver(options) : new MinMaxObserver(options);
    }

    private QuantizationEdge Find(QuantizationEdge edge)
    {
        if (!_parent.TryGetValue(edge, out var parent))
        {
            _parent[edge] = edge;
            return edge;
        }

        if (parent == edge)
            return edge;
        var root = Find(parent);
        _parent[edge] = root;
        return root;
    }

    private void Union(QuantizationEdge a, QuantizationEdge b)
    {
        var ra = Find(a);
        var rb = Find(b);
        if (ra != rb)
            _parent[rb] = ra;
    }
}
