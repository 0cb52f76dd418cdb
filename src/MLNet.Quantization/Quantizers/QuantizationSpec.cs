using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// A tensor quantized with parameters computed by an observer: PyTorch's <c>QuantizationSpec</c>
/// (<c>dtype</c>, <c>quant_min</c>, <c>quant_max</c>, <c>qscheme</c>, <c>ch_axis</c>, <c>is_dynamic</c>,
/// <c>observer_or_fake_quant_ctr</c>), with the observer's <c>eps</c> and <c>reduce_range</c> made explicit.
/// </summary>
/// <remarks>
/// Edges and outputs with equal specs on the same tensor share one observer. Equality is value equality of every
/// field; <see cref="ObserverFactory"/> compares by delegate equality, so reuse one factory instance (for example
/// a static lambda) for specs that should compare equal.
/// </remarks>
public sealed record QuantizationSpec : QuantizationSpecBase
{
    /// <summary>X86InductorQuantizer's scale lower bound, 2^-12 = 0.000244140625.</summary>
    public const float DefaultEps = 1f / 4096f;

    /// <summary>
    /// The scale floor of the X86 default weight specs: 2^-40, where PT2E uses <see cref="DefaultEps"/> (2^-12). A
    /// weight's range is known exactly, so the floor only has to keep an all-zero channel's scale positive; 2^-12 would
    /// round every weight below about 0.016 to −1, 0 or 1, as BatchNorm folding produces when a running variance is
    /// large (a documented divergence from PT2E; the int32 bias guard raises a channel's scale where s_in × s_w is too small).
    /// </summary>
    public const float WeightEps = 1f / 1099511627776f; // 2^-40

    /// <summary>Creates a spec, validating it.</summary>
    /// <param name="dataType">The quantized type.</param>
    /// <param name="qScheme">Per tensor or per channel, affine or symmetric.</param>
    /// <param name="quantMin">A custom lowest quantized value; give both bounds or neither.</param>
    /// <param name="quantMax">A custom highest quantized value; give both bounds or neither.</param>
    /// <param name="channelAxis">The channel axis; required for per-channel schemes, not allowed for per-tensor ones.</param>
    /// <param name="isDynamic">Quantization parameters are computed at run time from each input (dynamic quantization); per tensor only.</param>
    /// <param name="observerFactory">Makes the observer; <c>null</c> for the minimum/maximum observer of the scheme (a placeholder when dynamic).</param>
    /// <param name="eps">The lower clamp on scales; finite and positive.</param>
    /// <param name="reduceRange">Use one bit less of range (PyTorch's <c>reduce_range</c>).</param>
    /// <exception cref="ArgumentException">The settings are inconsistent.</exception>
    public QuantizationSpec(
        QuantDataType dataType,
        QScheme qScheme,
        int? quantMin = null,
        int? quantMax = null,
        int? channelAxis = null,
        bool isDynamic = false,
        Func<ObserverOptions, Observer>? observerFactory = null,
        float eps = DefaultEps,
        bool reduceRange = false)
    {
        DataType = dataType;
        QScheme = qScheme;
        QuantMin = quantMin;
        QuantMax = quantMax;
        ChannelAxis = channelAxis;
        IsDynamic = isDynamic;
        ObserverFactory = observerFactory;
        Eps = eps;
        ReduceRange = reduceRange;
        Validate();
    }

    /// <summary>The quantized type.</summary>
    public QuantDataType DataType { get; init; }

    /// <summary>Per tensor or per channel, affine or symmetric.</summary>
    public QScheme QScheme { get; init; }

    /// <summary>A custom lowest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMin { get; init; }

    /// <summary>A custom highest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMax { get; init; }

    /// <summary>The channel axis of a per-channel scheme; <c>null</c> for per-tensor schemes.</summary>
    /// <remarks>
    /// A quantizer sets it per operator for weights: X86Quantizer uses 0 for Conv, 0 or 1 for Gemm depending on
    /// <c>transB</c>, and 1 for the 2-D <c>[K, N]</c> weight of a MatMul.
    /// </remarks>
    public int? ChannelAxis { get; init; }

    /// <summary>Dynamic quantization: the parameters are computed at run time from each input rather than calibrated.</summary>
    public bool IsDynamic { get; init; }

    /// <summary>
    /// Makes the observer for this spec from <see cref="ToObserverOptions"/>; <c>null</c> means a
    /// <see cref="MinMaxObserver"/> (<see cref="PerChannelMinMaxObserver"/> for per-channel schemes,
    /// <see cref="PlaceholderObserver"/> for dynamic specs).
    /// </summary>
    public Func<ObserverOptions, Observer>? ObserverFactory { get; init; }

    /// <summary>The lower clamp on scales.</summary>
    public float Eps { get; init; }

    /// <summary>Use one bit less of range (7-bit activations for CPUs without VNNI).</summary>
    public bool ReduceRange { get; init; }

    /// <summary>The observer settings this spec implies (the channel axis is 0 for per-tensor schemes).</summary>
    public ObserverOptions ToObserverOptions()
    {
        Validate();
        return new ObserverOptions(DataType, QScheme, ReduceRange, QuantMin, QuantMax, Eps, ChannelAxis ?? 0);
    }

    /// <inheritdoc />
    public override void Validate()
    {
        ValidateRange(DataType, QuantMin, QuantMax, nameof(QuantizationSpec));
        if (!Enum.IsDefined(QScheme))
            throw new ArgumentException($"{nameof(QuantizationSpec)}: unknown QScheme {(int)QScheme}.");
        if (QScheme.IsPerChannel())
        {
            if (ChannelAxis is null)
                throw new ArgumentException($"{nameof(QuantizationSpec)}: the per-channel scheme {QScheme} needs a ChannelAxis.");
            if (ChannelAxis < 0)
                throw new ArgumentException($"{nameof(QuantizationSpec)}: ChannelAxis is {ChannelAxis}; it must be 0 or more.");
        }
        else if (ChannelAxis is not null)
        {
            throw new ArgumentException($"{nameof(QuantizationSpec)}: ChannelAxis {ChannelAxis} is given for the per-tensor scheme {QScheme}; use a per-channel scheme or no axis.");
        }

        if (IsDynamic && QScheme.IsPerChannel())
            throw new ArgumentException($"{nameof(QuantizationSpec)}: dynamic quantization is per tensor; {QScheme} is not supported.");
        if (!float.IsFinite(Eps) || Eps <= 0f)
            throw new ArgumentException($"{nameof(QuantizationSpec)}: Eps is {Eps}; it must be finite and positive.");
    }
}
