using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// A tensor whose quantization parameters are computed from the parameters of other edges; PyTorch's
/// <c>DerivedQuantizationSpec</c>. The classic case is a bias: int32, zero point 0, scale = input scale × weight scale
/// (per output channel when the weight is per channel).
/// </summary>
/// <remarks>
/// At conversion the parameters of every edge in <see cref="DerivedFrom"/> are computed first, in that order, and
/// passed to <see cref="DeriveQParams"/>. A spec with an empty <see cref="DerivedFrom"/> is a template, valid only
/// inside a <see cref="QuantizationConfig"/>: the quantizer binds it to a node's edges (see <see cref="BindBias"/>).
/// </remarks>
public sealed record DerivedQuantizationSpec : QuantizationSpecBase
{
    /// <summary>Creates a derived spec, validating it.</summary>
    /// <param name="derivedFrom">The edges whose parameters are the inputs of <paramref name="deriveQParams"/>, in order.</param>
    /// <param name="deriveQParams">Computes this tensor's parameters from those of <paramref name="derivedFrom"/>.</param>
    /// <param name="dataType">The quantized type of this tensor.</param>
    /// <param name="quantMin">A custom lowest quantized value; give both bounds or neither.</param>
    /// <param name="quantMax">A custom highest quantized value; give both bounds or neither.</param>
    /// <param name="qScheme">The scheme the derived parameters follow, for information; <c>null</c> when it depends on the inputs.</param>
    /// <param name="channelAxis">The channel axis of per-channel derived parameters, for information.</param>
    /// <exception cref="ArgumentException">The settings are inconsistent.</exception>
    public DerivedQuantizationSpec(
        IReadOnlyList<QuantizationEdge> derivedFrom,
        Func<IReadOnlyList<QParams>, QParams> deriveQParams,
        QuantDataType dataType,
        int? quantMin = null,
        int? quantMax = null,
        QScheme? qScheme = null,
        int? channelAxis = null)
    {
        ArgumentNullException.ThrowIfNull(derivedFrom);
        ArgumentNullException.ThrowIfNull(deriveQParams);
        DerivedFrom = derivedFrom;
        DeriveQParams = deriveQParams;
        DataType = dataType;
        QuantMin = quantMin;
        QuantMax = quantMax;
        QScheme = qScheme;
        ChannelAxis = channelAxis;
        Validate();
    }

    /// <summary>The edges this tensor's parameters are derived from, in the order <see cref="DeriveQParams"/> receives them.</summary>
    public IReadOnlyList<QuantizationEdge> DerivedFrom { get; init; }

    /// <summary>Computes this tensor's parameters from the parameters of <see cref="DerivedFrom"/>.</summary>
    public Func<IReadOnlyList<QParams>, QParams> DeriveQParams { get; init; }

    /// <summary>The quantized type.</summary>
    public QuantDataType DataType { get; init; }

    /// <summary>A custom lowest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMin { get; init; }

    /// <summary>A custom highest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMax { get; init; }

    /// <summary>The scheme of the derived parameters, for information; <c>null</c> when it follows the inputs.</summary>
    public QScheme? QScheme { get; init; }

    /// <summary>The channel axis of per-channel derived parameters, for information.</summary>
    public int? ChannelAxis { get; init; }

    /// <summary>True when <see cref="DerivedFrom"/> is empty: a template a quantizer binds to a node's edges.</summary>
    public bool IsTemplate => DerivedFrom.Count == 0;

    /// <summary>
    /// The default bias template: int32, zero point 0, scale = activation scale × weight scale, bound by
    /// <see cref="BindBias"/> to a node's activation and weight edges.
    /// </summary>
    public static DerivedQuantizationSpec BiasTemplate { get; } = new([], MultiplyScales, QuantDataType.Int32);

    /// <summary>
    /// A bias spec for <paramref name="node"/>: derived from its input <paramref name="activationIndex"/> and weight
    /// <paramref name="weightIndex"/> with <see cref="MultiplyScales"/>, int32.
    /// </summary>
    public static DerivedQuantizationSpec Bias(OnnxNode node, int activationIndex = 0, int weightIndex = 1) =>
        BiasTemplate.BindBias(node, activationIndex, weightIndex);

    /// <summary>
    /// This spec bound to <paramref name="node"/>'s activation and weight inputs. A spec that already names its
    /// edges is returned unchanged.
    /// </summary>
    public DerivedQuantizationSpec BindBias(OnnxNode node, int activationIndex = 0, int weightIndex = 1)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!IsTemplate)
            return this;
        return this with { DerivedFrom = [QuantizationEdge.Input(node, activationIndex), QuantizationEdge.Input(node, weightIndex)] };
    }

    /// <summary>
    /// Bias parameters from (activation, weight) parameters: scale = s_act × s_w (one per weight channel when the
    /// weight is per channel, along axis 0 of the 1-D bias), zero point 0, int32 full range.
    /// </summary>
    /// <exception cref="ArgumentException">Not exactly two inputs, a per-channel activation, or a scale product that is not a positive finite float.</exception>
    public static QParams MultiplyScales(IReadOnlyList<QParams> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != 2)
            throw new ArgumentException($"Bias parameters derive from (activation, weight) parameters; got {inputs.Count} inputs.", nameof(inputs));
        var activation = inputs[0];
        var weight = inputs[1];
        if (activation.IsPerChannel)
            throw new ArgumentException("Bias parameters need a per-tensor activation scale; the activation is per channel.", nameof(inputs));
        float sAct = activation.Scale;
        var scales = new float[weight.Scales.Length];
        for (int c = 0; c < scales.Length; c++)
        {
            scales[c] = sAct * weight.Scales[c];
            if (!float.IsFinite(scales[c]) || scales[c] <= 0f)
                throw new ArgumentException($"Bias scale {c} = {sAct} × {weight.Scales[c]} is not a positive finite float.", nameof(inputs));
        }

        return new QParams(scales, new int[scales.Length], QuantDataType.Int32, weight.IsPerChannel ? 0 : null);
    }

    /// <summary>Value equality; <see cref="DerivedFrom"/> compares element by element.</summary>
    public bool Equals(DerivedQuantizationSpec? other) =>
        other is not null
        && DataType == other.DataType
        && QuantMin == other.QuantMin
        && QuantMax == other.QuantMax
        && QScheme == other.QScheme
        && ChannelAxis == other.ChannelAxis
        && Equals(DeriveQParams, other.DeriveQParams)
        && DerivedFrom.SequenceEqual(other.DerivedFrom);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(DataType);
        hash.Add(QuantMin);
        hash.Add(QuantMax);
        hash.Add(QScheme);
        hash.Add(ChannelAxis);
        hash.Add(DeriveQParams);
        foreach (var edge in DerivedFrom)
            hash.Add(edge);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override void Validate()
    {
        ValidateRange(DataType, QuantMin, QuantMax, nameof(DerivedQuantizationSpec));
        if (DerivedFrom is null)
            throw new ArgumentException($"{nameof(DerivedQuantizationSpec)}: DerivedFrom is null.");
        if (DeriveQParams is null)
            throw new ArgumentException($"{nameof(DerivedQuantizationSpec)}: DeriveQParams is null.");
        for (int i = 0; i < DerivedFrom.Count; i++)
        {
            if (DerivedFrom[i] is null)
                throw new ArgumentException($"{nameof(DerivedQuantizationSpec)}: DerivedFrom[{i}] is null.");
        }

        if (QScheme is { } scheme && !Enum.IsDefined(scheme))
            throw new ArgumentException($"{nameof(DerivedQuantizationSpec)}: unknown QScheme {(int)scheme}.");
        if (ChannelAxis < 0)
            throw new ArgumentException($"{nameof(DerivedQuantizationSpec)}: ChannelAxis is {ChannelAxis}; it must be 0 or more.");
    }
}
