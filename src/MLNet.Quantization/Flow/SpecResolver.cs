using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizer;

namespace MLNet.Quantization;

/// <summary>
/// Turns annotations into shared groups, as PT2E's prepare does: <see cref="SharedQuantizationSpec"/> unions edges
/// (transitively), and edges carrying the same tensor with equal specs are one group, so a tensor read by several
/// consumers, or annotated both as a producer's output and a consumer's input, is observed once.
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
        foreach (var (edge, spec) in entries)
        {
            if (spec is SharedQuantizationSpec shared)
                resolver.Union(edge, shared.EdgeOrNode);
        }

        // same tensor, equal spec → one group
        foreach (var byTensor in entries.Where(e => e.Spec is QuantizationSpec or FixedQParamsQuantizationSpec).GroupBy(e => e.Edge.TensorName))
        {
            var list = byTensor.ToList();
            for (int i = 1; i < list.Count; i++)
            {
                for (int j = 0; j < i; j++)
                {
                    if (list[i].Spec.Equals(list[j].Spec))
                    {
                        resolver.Union(list[i].Edge, list[j].Edge);
                        break;
                    }
                }
            }
        }

        var specByEdge = entries.ToDictionary(e => e.Edge, e => e.Spec);
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
