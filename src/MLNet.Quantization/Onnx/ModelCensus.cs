using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// Counts over a whole model, its main graph, every subgraph (If/Loop/Scan bodies, at any depth) and its local
/// functions: nodes, the deepest subgraph nesting, and nodes of each quantized operator type. The walk is iterative
/// (an explicit stack), so no shape of graph can overflow the call stack, and it allocates nothing per node.
/// </summary>
internal sealed class ModelCensus
{
    /// <summary>Operator types that only occur in models that are already quantized (QDQ or QOperator form).</summary>
    private static readonly HashSet<string> QuantizedOpTypes = new(StringComparer.Ordinal)
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
        "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "QAttention", "DynamicQuantizeLSTM", "QOrderedMatMul",
    };

    private readonly SortedDictionary<string, int> _quantizedOps = new(StringComparer.Ordinal);

    private ModelCensus()
    {
    }

    /// <summary>Nodes in the main graph, all subgraphs and all local functions.</summary>
    public long NodeCount { get; private set; }

    /// <summary>How deep subgraphs nest: 0 for a model without subgraphs, 1 for an If in the main graph, and so on.</summary>
    public int MaxSubgraphDepth { get; private set; }

    /// <summary>Nodes of quantized operator types (QuantizeLinear, DequantizeLinear, QLinear*, *Integer, ...) by type.</summary>
    public IReadOnlyDictionary<string, int> QuantizedOps => _quantizedOps;

    /// <summary>All nodes of quantized operator types.</summary>
    public int QuantizedOpCount => _quantizedOps.Values.Sum();

    /// <summary>Walks <paramref name="model"/> once.</summary>
    public static ModelCensus Of(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var census = new ModelCensus();
        var pending = new Stack<(IEnumerable<NodeProto> Nodes, int Depth)>();
        if (model.Graph is not null)
            pending.Push((model.Graph.Node, 0));
        foreach (var function in model.Functions)
            pending.Push((function.Node, 0));
        while (pending.TryPop(out var item))
        {
            census.MaxSubgraphDepth = Math.Max(census.MaxSubgraphDepth, item.Depth);
            foreach (var node in item.Nodes)
            {
                census.NodeCount++;
                if (IsQuantizedOp(node))
                    census._quantizedOps[node.OpType] = census._quantizedOps.GetValueOrDefault(node.OpType) + 1;
                foreach (var attribute in node.Attribute)
                {
                    if (attribute.G is not null)
                        pending.Push((attribute.G.Node, item.Depth + 1));
                    foreach (var graph in attribute.Graphs)
                        pending.Push((graph.Node, item.Depth + 1));
                }
            }
        }

        return census;
    }

    private static bool IsQuantizedOp(NodeProto node) =>
        QuantizedOpTypes.Contains(node.OpType) || node.OpType.StartsWith("QLinear", StringComparison.Ordinal);
}
