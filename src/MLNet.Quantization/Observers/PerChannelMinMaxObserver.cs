using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks the minimum and maximum of each channel along <see cref="ObserverOptions.ChannelAxis"/>, reducing over every
/// other axis, as PyTorch's <c>PerChannelMinMaxObserver</c>; per-channel qparams. Non-finite values are ignored.
/// </summary>
/// <remarks>
/// Every batch must have the same channel count. Before any batch the channel count is unknown and
/// <see cref="CalculateQParams"/> returns PyTorch's default, per-tensor scale 1 and zero point 0; a channel that saw no
/// finite value gets scale 1 and zero point 0 (PyTorch would fail on it).
/// </remarks>
public class PerChannelMinMaxObserver : Observer
{
    /// <summary>Running per-channel minimums (+Inf where a channel saw nothing finite); null before the first batch.</summary>
    private protected float[]? MinValues;

    /// <summary>Running per-channel maximums (−Inf where a channel saw nothing finite); null before the first batch.</summary>
    private protected float[]? MaxValues;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Settings; the scheme must be per channel. Defaults to PyTorch's: uint8 per-channel affine on axis 0.</param>
    public PerChannelMinMaxObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions(QuantDataType.UInt8, QScheme.PerChannelAffine))
    {
        if (!Options.QScheme.IsPerChannel())
            throw new ArgumentException($"{GetType().Name} is per channel; {Options.QScheme} is not.", nameof(options));
        MinMaxObserver.CheckOptions(Options);
    }

    /// <summary>Per-channel minimums (+Inf where a channel has seen nothing finite); null before the first batch.</summary>
    public IReadOnlyList<float>? Mins => MinValues;

    /// <summary>Per-channel maximums (−Inf where a channel has seen nothing finite); null before the first batch.</summary>
    public IReadOnlyList<float>? Maxs => MaxValues;

    /// <summary>The number of channels, fixed by the first batch; 0 before it.</summary>
    public int ChannelCount => MinValues?.Length ?? 0;

    /// <inheritdoc />
    public override bool HasObservations
    {
        get
        {
            if (MinValues is null || MaxValues is null)
                return false;
            for (int c = 0; c < MinValues.Length; c++)
            {
                if (MinValues[c] <= MaxValues[c])
                    return true;
            }

            return false;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The channel axis is outside the tensor, or the channel count differs from earlier batches.</exception>
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        int axis = Options.ChannelAxis < 0 ? Options.ChannelAxis + shape.Length : Options.ChannelAxis;
        if (axis < 0 || axis >= shape.Length)
            throw new ArgumentException($"Channel axis {Options.ChannelAxis} is outside a tensor of rank {shape.Length}.", nameof(shape));
        if (values.IsEmpty)
            return; // PyTorch returns early on an empty tensor
        int channels = shape[axis];
        if (MinValues is not null && MinValues.Length != channels)
            throw new ArgumentException($"This tensor has {channels} channels on axis {axis}, but the observer has seen {MinValues.Length}.", nameof(shape));

        var (outer, _, inner) = QuantizeKernels.ChannelLayout(values.Length, shape, axis, channels);
        var batchMin = new float[channels];
        var batchMax = new float[channels];
        FiniteRange.PerChannel(values, outer, channels, inner, batchMin, batchMax);
        Update(batchMin, batchMax);
    }

    /// <summary>Folds one batch's per-channel ranges (+Inf/−Inf for channels without a finite value) into the running ranges.</summary>
    private protected virtual void Update(float[] batchMin, float[] batchMax)
    {
        if (MinValues is null || MaxValues is null)
        {
            (MinValues, MaxValues) = (batchMin, batchMax);
            return;
        }

        for (int c = 0; c < MinValues.Length; c++)
        {
            MinValues[c] = MathF.Min(MinValues[c], batchMin[c]);
            MaxValues[c] = MathF.Max(MaxValues[c], batchMax[c]);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The observers saw different channel counts.</exception>
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<PerChannelMinMaxObserver>(other);
        if (o.MinValues is null || o.MaxValues is null)
            return;
        CheckSameChannels(o);
        Update((float[])o.MinValues.Clone(), (float[])o.MaxValues.Clone());
    }

    /// <summary>Throws unless a merged observer has as many channels as this one (or this one has none yet).</summary>
    private protected void CheckSameChannels(PerChannelMinMaxObserver other)
    {
        if (MinValues is not null && other.MinValues is not null && MinValues.Length != other.MinValues.Length)
            throw new ArgumentException($"Cannot merge an observer of {other.MinValues.Length} channels into one of {MinValues.Length}.", nameof(other));
    }

    /// <inheritdoc />
    public override QParams CalculateQParams()
    {
        if (MinValues is null || MaxValues is null)
            return QParamsCalculator.Calculate(float.PositiveInfinity, float.NegativeInfinity, Options); // PyTorch: tensor([1.0]), tensor([0])
        return QParamsCalculator.CalculatePerChannel(MinValues, MaxValues, Options);
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new PerChannelMinMaxObserver(Options);

    internal override void WriteState(StatisticsWriter writer)
    {
        writer.WriteSingles(MinValues);
        writer.WriteSingles(MaxValues);
    }

    internal override void ReadState(StatisticsReader reader)
    {
        var mins = reader.ReadSingles("the per-channel minimums");
        var maxs = reader.ReadSingles("the per-channel maximums");
        if (mins?.Length != maxs?.Length)
            throw reader.Error($"{mins?.Length ?? 0} per-channel minimums but {maxs?.Length ?? 0} maximums");
        for (int c = 0; c < (mins?.Length ?? 0); c++)
        {
            bool empty = mins![c] == float.PositiveInfinity && maxs![c] == float.NegativeInfinity;
            if (!empty && !(float.IsFinite(mins[c]) && float.IsFinite(maxs![c]) && mins[c] <= maxs[c]))
                throw reader.Error($"channel {c} has the range [{mins[c]}, {maxs![c]}], neither empty nor finite with min ≤ max");
        }

        (MinValues, MaxValues) = (mins, maxs);
    }
}
