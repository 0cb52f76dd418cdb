using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks the minimum and maximum of each channel along <see cref="ObserverOptions.ChannelAxis"/>, as PyTorch's
/// <c>PerChannelMinMaxObserver</c>; per-channel qparams.
/// </summary>
public class PerChannelMinMaxObserver : Observer
{
    /// <summary>Creates the observer; the scheme must be per channel.</summary>
    public PerChannelMinMaxObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric))
    {
        if (!Options.QScheme.IsPerChannel())
            throw new ArgumentException($"{GetType().Name} is per channel; {Options.QScheme} is not.", nameof(options));
        _ = QParamsCalculator.QuantRange(Options);
    }

    /// <summary>Per-channel minimums (+Inf where a channel has seen nothing finite); null before the first batch.</summary>
    public float[]? Mins { get; protected set; }

    /// <summary>Per-channel maximums (−Inf where a channel has seen nothing finite); null before the first batch.</summary>
    public float[]? Maxs { get; protected set; }

    /// <inheritdoc />
    public override bool HasObservations => Mins is not null && Mins.AsSpan().IndexOfAnyExcept(float.PositiveInfinity) >= 0;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        int axis = Options.ChannelAxis < 0 ? Options.ChannelAxis + shape.Length : Options.ChannelAxis;
        if (axis < 0 || axis >= shape.Length)
            throw new ArgumentException($"Channel axis {Options.ChannelAxis} is outside a tensor of rank {shape.Length}.", nameof(shape));
        int channels = shape[axis];
        if (Mins is not null && Mins.Length != channels)
            throw new ArgumentException($"The observer has seen {Mins.Length} channels; this tensor has {channels} on axis {axis}.", nameof(shape));

        var (outer, _, inner) = QuantizeKernels.ChannelLayout(values.Length, shape, axis, channels);
        var batchMin = new float[channels];
        var batchMax = new float[channels];
        batchMin.AsSpan().Fill(float.PositiveInfinity);
        batchMax.AsSpan().Fill(float.NegativeInfinity);
        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                if (FiniteRange.TryGet(values.Slice((o * channels + c) * inner, inner), out float mn, out float mx))
                {
                    batchMin[c] = MathF.Min(batchMin[c], mn);
                    batchMax[c] = MathF.Max(batchMax[c], mx);
                }
            }
        }

        Update(batchMin, batchMax);
    }

    /// <summary>Folds one batch's per-channel ranges into the running ranges.</summary>
    protected virtual void Update(float[] batchMin, float[] batchMax)
    {
        if (Mins is null || Maxs is null)
        {
            Mins = batchMin;
            Maxs = batchMax;
            return;
        }

        for (int c = 0; c < Mins.Length; c++)
        {
            Mins[c] = MathF.Min(Mins[c], batchMin[c]);
            Maxs[c] = MathF.Max(Maxs[c], batchMax[c]);
        }
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<PerChannelMinMaxObserver>(other);
        if (o.Mins is null || o.Maxs is null)
            return;
        CheckChannels(o.Mins);
        Update((float[])o.Mins.Clone(), (float[])o.Maxs.Clone());
    }

    /// <summary>Checks that a merged observer has as many channels as this one.</summary>
    protected void CheckChannels(float[] other)
    {
        if (Mins is not null && Mins.Length != other.Length)
            throw new ArgumentException($"Cannot merge {other.Length} channels into {Mins.Length}.");
    }

    /// <inheritdoc />
    public override QParams CalculateQParams()
    {
        if (Mins is null || Maxs is null)
            throw new InvalidOperationException("The per-channel observer has seen no tensor, so the channel count is unknown.");
        return QParamsCalculator.CalculatePerChannel(Mins, Maxs, Options);
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new PerChannelMinMaxObserver(Options);
}
