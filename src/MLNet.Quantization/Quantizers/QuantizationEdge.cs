using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>Whether a <see cref="QuantizationEdge"/> names a node input or a node output.</summary>
public enum QuantizationEdgeKind
{
    /// <summary>Input <see cref="QuantizationEdge.Index"/> of the node: the tensor as that node consumes it.</summary>
    Input,
    /// <summary>Output <see cref="QuantizationEdge.Index"/> of the node: the tensor as the node produces it.</summary>
    Output,
}

/// <summary>
/// A point of quantization in the graph: one input of a consuming node (an edge, PyTorch's <c>(producer, consumer)</c>
/// pair) or one output of a node (PyTorch's <c>Node</c>). Used by <see cref="SharedQuantizationSpec"/> and
/// <see cref="DerivedQuantizationSpec"/> to refer to other tensors.
/// </summary>
/// <remarks>
/// Equality is by node reference, index and kind, so two edges on different nodes differ even when the nodes
/// compare equal otherwise. An edge names a position, not a tensor: the tensor it carries is
/// <see cref="TensorName"/> at the time of the call.
/// </remarks>
public sealed class QuantizationEdge : IEquatable<QuantizationEdge>
{
    private QuantizationEdge(OnnxNode node, int index, QuantizationEdgeKind kind)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Node = node;
        Index = index;
        Kind = kind;
    }

    /// <summary>The consuming node (input edge) or producing node (output).</summary>
    public OnnxNode Node { get; }

    /// <summary>The input or output index on <see cref="Node"/>.</summary>
    public int Index { get; }

    /// <summary>Input or output.</summary>
    public QuantizationEdgeKind Kind { get; }

    /// <summary>True for an input edge.</summary>
    public bool IsInput => Kind == QuantizationEdgeKind.Input;

    /// <summary>The tensor at this position now, or <c>null</c> when the node has no such input or output.</summary>
    public string? TensorName
    {
        get
        {
            var names = IsInput ? Node.Inputs : Node.Outputs;
            return Index < names.Count ? names[Index] : null;
        }
    }

    /// <summary>Input <paramref name="index"/> of <paramref name="node"/>.</summary>
    public static QuantizationEdge Input(OnnxNode node, int index) => new(node, index, QuantizationEdgeKind.Input);

    /// <summary>Output <paramref name="index"/> of <paramref name="node"/>.</summary>
    public static QuantizationEdge Output(OnnxNode node, int index = 0) => new(node, index, QuantizationEdgeKind.Output);

    /// <inheritdoc />
    public bool Equals(QuantizationEdge? other) =>
        other is not null && ReferenceEquals(Node, other.Node) && Index == other.Index && Kind == other.Kind;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as QuantizationEdge);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Node), Index, Kind);

    /// <summary>Value equality.</summary>
    public static bool operator ==(QuantizationEdge? left, QuantizationEdge? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(QuantizationEdge? left, QuantizationEdge? right) => !(left == right);

    /// <inheritdoc />
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Index} of {Node.OpType} '{Node.Name}' ({TensorName ?? "absent"})";
}
