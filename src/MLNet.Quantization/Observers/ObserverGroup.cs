using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Observers;

/// <summary>
/// A read-only view of one shared group of a <see cref="PreparedModel"/>: the edges that share one set of qparams
/// (PT2E's shared observer), the spec they resolved to, and the observer that gathers their statistics.
/// </summary>
/// <remarks>
/// The view is live: <see cref="Observer"/> is the observer the prepared model converts with, so statistics fed to it
/// (for example by quantization-aware training, which observes while it fake-quantizes) are the ones
/// <see cref="PreparedModel.Convert"/> turns into qparams. The groups themselves (which edges, which spec) cannot be
/// changed.
/// </remarks>
/// <example>
/// <code language="csharp">
/// var prepared = QuantizationFlow.Prepare(OnnxModel.Load("cnn.onnx"), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
/// foreach (var group in prepared.ObserverGroups.Where(g => g.Kind == QuantGroupKind.Activation))
///     Console.WriteLine($"{group.Id}: [{string.Join(", ", group.Tensors)}] observed by {group.Observer?.GetType().Name}");
/// </code>
/// </example>
public sealed class ObserverGroup
{
    private readonly QuantGroup _group;

    internal ObserverGroup(QuantGroup group) => _group = group;

    /// <summary>The group's number, unique within its prepared model.</summary>
    public int Id => _group.Id;

    /// <summary>What the group needs: calibration, weight statistics, run-time qparams, fixed or derived qparams.</summary>
    public QuantGroupKind Kind => _group.Kind;

    /// <summary>The spec the group's edges resolved to (shared specs unwrapped to their root).</summary>
    public QuantizationSpecBase Spec => _group.Spec;

    /// <summary>The annotated edges (node inputs and outputs) that share the group's qparams.</summary>
    public IReadOnlyList<QuantizationEdge> Edges => _group.Edges;

    /// <summary>The distinct tensors the group's edges carry.</summary>
    public IReadOnlyCollection<string> Tensors => _group.Tensors;

    /// <summary>
    /// The observer that gathers the group's statistics; null for fixed and derived groups, which need none. Weight
    /// groups get a fresh observer from <see cref="PreparedModel.ReobserveWeights"/>, so read this property each time
    /// rather than keeping the observer.
    /// </summary>
    public Observer? Observer => _group.Observer;

    /// <summary>
    /// True when quantization-aware training fake-quantizes the group's edges while training: activation, weight,
    /// dynamic and fixed groups. Derived groups (int32 bias) get their qparams only at convert.
    /// </summary>
    public bool IsFakeQuantized => Kind is QuantGroupKind.Activation or QuantGroupKind.Weight or QuantGroupKind.Dynamic or QuantGroupKind.Fixed;

    /// <inheritdoc />
    public override string ToString() => _group.ToString();
}
