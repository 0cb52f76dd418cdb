using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>What a group of edges sharing one set of qparams needs (see <see cref="Observers.ObserverGroup.Kind"/>).</summary>
public enum QuantGroupKind
{
    /// <summary>Activations calibrated by an observer.</summary>
    Activation,
    /// <summary>Constant tensors observed once at prepare time.</summary>
    Weight,
    /// <summary>Activations whose qparams are chosen at run time.</summary>
    Dynamic,
    /// <summary>Fixed qparams.</summary>
    Fixed,
    /// <summary>qparams derived from other groups (bias).</summary>
    Derived,
}

/// <summary>Edges that share one set of qparams, and one observer: PT2E's "shared group".</summary>
internal sealed class QuantGroup
{
    public QuantGroup(int id, QuantizationSpecBase spec, QuantGroupKind kind)
    {
        Id = id;
        Spec = spec;
        Kind = kind;
    }

    public int Id { get; }

    public QuantizationSpecBase Spec { get; }

    public QuantGroupKind Kind { get; }

    public List<QuantizationEdge> Edges { get; } = [];

    /// <summary>The distinct tensors the group's edges carry.</summary>
    public HashSet<string> Tensors { get; } = new(StringComparer.Ordinal);

    public Observer? Observer { get; set; }

    public QParams? QParams { get; set; }

    public QuantDataType DataType => Spec switch
    {
        QuantizationSpec s => s.DataType,
        FixedQParamsQuantizationSpec f => f.DataType,
        DerivedQuantizationSpec d => d.DataType,
        _ => QuantDataType.UInt8,
    };

    public override string ToString() => $"group {Id} {Kind} [{string.Join(", ", Tensors)}]";
}
