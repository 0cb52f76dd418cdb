using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Speed;

/// <summary>What one candidate unit costs in a profiled model, in µs (medians over the profiled runs).</summary>
/// <param name="KernelMicros">The unit's kernel (QLinearConv, QGemm, a float Conv...) and the layout nodes ORT put around it (NHWC Transposes, NCHWc reorders).</param>
/// <param name="BoundaryMicros">The QuantizeLinear/DequantizeLinear nodes left at the unit's float boundaries, and those ORT left in front of a unit it did not fuse (a node shared by several units is split between them).</param>
/// <param name="AddedIfFloatMicros">An estimate of the QuantizeLinear/DequantizeLinear that keeping the unit float would add where it meets int8 neighbours, from the measured per-element cost of ORT's own Q/DQ nodes.</param>
internal sealed record UnitCost(double KernelMicros, double BoundaryMicros, double AddedIfFloatMicros);

/// <summary>
/// ONNX Runtime's optimized graph of a profiled model, with each executed node traced back to a node of the model it was
/// given (the source): an optimized node keeps its source node's name or adds a suffix (<c>p2o.Conv.1_token_21</c>,
/// <c>relu_1.tmp_0_DequantizeLinear_515</c>), or is named after the source tensor it computes (the NCHWc
/// <c>conv2d_53.tmp_0_nchwc</c>). A fused activation (Conv + HardSigmoid) is traced to the Conv it follows. Layout
/// nodes ORT inserts (Transpose, ReorderInput, ReorderOutput) are charged to the compute node they feed or follow.
/// </summary>
internal sealed class ExecutedGraph
{
    private static readonly HashSet<string> Compute = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "FusedConv", "NhwcFusedConv", "MatMul", "FusedMatMul", "Gemm", "FusedGemm", "QLinearConv", "QLinearMatMul", "QGemm",
        "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "MatMulInteger", "ConvInteger",
    };

    private static readonly HashSet<string> Layout = new(StringComparer.Ordinal) { "Transpose", "ReorderInput", "ReorderOutput" };

    private readonly List<NodeProto> _nodes;
    private readonly IReadOnlyDictionary<string, ProfiledNode> _profile;
    private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<NodeProto, string?> _unit = [];

    /// <summary>Traces <paramref name="optimized"/> (ORT's optimized graph, profiled as <paramref name="profile"/>) back to <paramref name="source"/>, for the units named <paramref name="units"/>.</summary>
    public ExecutedGraph(GraphProto optimized, IReadOnlyDictionary<string, ProfiledNode> profile, GraphProto source, IReadOnlySet<string> units)
    {
        _nodes = [.. optimized.Node];
        _profile = profile;
        foreach (var node in _nodes)
        {
            foreach (var output in node.Output)
                _producer[output] = node;
            foreach (var input in node.Input.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list))
                    _consumers[input] = list = [];
                list.Add(node);
            }
        }

        var sourceNodes = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var sourceProducer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in source.Node)
        {
            sourceNodes.TryAdd(node.Name, node);
            foreach (var output in node.Output)
                sourceProducer[output] = node;
        }

        foreach (var node in _nodes.Where(n => Compute.Contains(n.OpType)))
        {
            var traced = Trace(node.Name, sourceNodes, sourceProducer);
            for (int step = 0; traced is not null && !Compute.Contains(traced.OpType) && step < 4; step++)
                traced = traced.Input.Count > 0 && sourceProducer.TryGetValue(traced.Input[0], out var p) ? p : null; // a fused activation: back to its Conv
            _unit[node] = traced is not null && units.Contains(traced.Name) ? traced.Name : null;
        }
    }

    /// <summary>The cost of every unit found among the executed nodes, by unit name; a unit ORT removed is absent.</summary>
    /// <param name="quantizeMicrosPerElement">ORT's QuantizeLinear time per element, for <see cref="UnitCost.AddedIfFloatMicros"/>.</param>
    /// <param name="dequantizeMicrosPerElement">ORT's DequantizeLinear time per element.</param>
    public IReadOnlyDictionary<string, UnitCost> Costs(double quantizeMicrosPerElement, double dequantizeMicrosPerElement)
    {
        var kernel = new Dictionary<string, double>(StringComparer.Ordinal);
        var boundary = new Dictionary<string, double>(StringComparer.Ordinal);
        var hasInputQuantize = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in _nodes)
        {
            double micros = Micros(node);
            if (_unit.TryGetValue(node, out var unit))
            {
                if (unit is not null)
                    Add(kernel, unit, micros);
            }
            else if (Layout.Contains(node.OpType))
            {
                if ((Downstream(node).FirstOrDefault() ?? Upstream(node)) is { } owner)
                    Add(kernel, owner, micros);
            }
            else if (node.OpType == "QuantizeLinear")
            {
                var fed = Downstream(node).Distinct(StringComparer.Ordinal).ToList();
                foreach (var u in fed)
                {
                    Add(boundary, u, micros / fed.Count);
                    hasInputQuantize.Add(u);
                }
            }
            else if (node.OpType == "DequantizeLinear")
            {
                if (Upstream(node) is { } producer)
                    Add(boundary, producer, micros);
                else
                {
                    // a DequantizeLinear ORT left in front of a unit it did not fuse (its input or weight)
                    var fed = Downstream(node).Distinct(StringComparer.Ordinal).ToList();
                    foreach (var u in fed)
                        Add(boundary, u, micros / fed.Count);
                }
            }
        }

        var costs = new Dictionary<string, UnitCost>(StringComparer.Ordinal);
        foreach (var (node, unit) in _unit)
        {
            if (unit is null || costs.ContainsKey(unit))
                continue;
            var profiled = _profile.GetValueOrDefault(node.Name);
            double added = 0;
            if (profiled is not null && node.OpType.StartsWith('Q') && !hasInputQuantize.Contains(unit))
                added += profiled.InputElements * dequantizeMicrosPerElement;   // an int8 producer: float here needs a DequantizeLinear
            if (profiled is not null && node.OpType.StartsWith('Q') && FeedsInt8(node))
                added += profiled.OutputElements * quantizeMicrosPerElement;    // an int8 consumer: float here needs a QuantizeLinear
            costs[unit] = new UnitCost(kernel.GetValueOrDefault(unit), boundary.GetValueOrDefault(unit), added);
        }

        return costs;
    }

    /// <summary>
    /// The µs per element of the executed nodes of <paramref name="opType"/>: their total time over their total output
    /// elements, so that the fixed cost of a small tensor's node does not count as a per-element one; NaN when there are none.
    /// </summary>
    public double MicrosPerElement(string opType)
    {
        var nodes = _nodes.Where(n => n.OpType == opType).Select(n => _profile.GetValueOrDefault(n.Name)).Where(p => p is not null && p.OutputElements > 0).ToList();
        return nodes.Count == 0 ? double.NaN : nodes.Sum(p => p!.MedianMicros) / nodes.Sum(p => (double)p!.OutputElements);
    }

    /// <summary>The total of every executed node's median time, in µs.</summary>
    public double TotalMicros => _nodes.Sum(Micros);

    private double Micros(NodeProto node) => _profile.TryGetValue(node.Name, out var p) ? p.MedianMicros : 0;

    /// <summary>The units whose kernels read <paramref name="node"/>'s outputs, through layout nodes and DequantizeLinear.</summary>
    private IEnumerable<string> Downstream(NodeProto node)
    {
        foreach (var consumer in node.Output.SelectMany(o => _consumers.GetValueOrDefault(o) ?? []))
        {
            if (_unit.TryGetValue(consumer, out var unit))
            {
                if (unit is not null)
                    yield return unit;
            }
            else if (Layout.Contains(consumer.OpType) || consumer.OpType == "DequantizeLinear")
            {
                foreach (var u in Downstream(consumer))
                    yield return u;
            }
        }
    }

    /// <summary>The unit whose kernel produced <paramref name="node"/>'s first input, through layout nodes; null when it is not a unit.</summary>
    private string? Upstream(NodeProto node)
    {
        for (var current = node; current.Input.Count > 0 && _producer.TryGetValue(current.Input[0], out var producer);)
        {
            if (_unit.TryGetValue(producer, out var unit))
                return unit;
            if (!Layout.Contains(producer.OpType))
                return null;
            current = producer;
        }

        return null;
    }

    /// <summary>Whether an int8 kernel's output reaches a node other than a DequantizeLinear (through layout nodes).</summary>
    private bool FeedsInt8(NodeProto node) => node.Output.SelectMany(o => _consumers.GetValueOrDefault(o) ?? []).Any(c =>
        c.OpType != "DequantizeLinear" && (!Layout.Contains(c.OpType) || FeedsInt8(c)));

    private static void Add(Dictionary<string, double> sums, string key, double micros) => sums[key] = sums.GetValueOrDefault(key) + micros;

    /// <summary>
    /// The source node an optimized node's name comes from: the name itself, or the name with trailing <c>_suffix</c>
    /// (or <c>/Fusion</c>) parts cut one at a time, as a source node's name or as a source tensor's (then its producer).
    /// </summary>
    private static NodeProto? Trace(string name, Dictionary<string, NodeProto> nodes, Dictionary<string, NodeProto> producers)
    {
        for (string candidate = name; candidate.Length > 0;)
        {
            if (nodes.TryGetValue(candidate, out var node) || producers.TryGetValue(candidate, out node))
                return node;
            int cut = candidate.LastIndexOfAny(['_', '/']);
            if (cut <= 0)
                return null;
            candidate = candidate[..cut];
        }

        return null;
    }
}
