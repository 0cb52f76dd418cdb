using MLNet.Quantization.Calibration;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Per-channel exponential moving average of min and max, as PyTorch's <c>MovingAveragePerChannelMinMaxObserver</c>:
/// each channel's first batch sets its range, later ones move it by <c>m ← m + c · (b − m)</c> in float32.
/// </summary>
/// <remarks>
/// Each channel averages only the batches in which it had a finite value, and keeps its own first value and batch
/// count, so merging follows <see cref="MovingAverageMinMaxObserver"/>'s exact rule channel by channel
/// (<c>m = m_B + (1 − c)^k · (m_A − b₁)</c>), equal to sequential observation up to float32 rounding.
/// </remarks>
public sealed class MovingAveragePerChannelMinMaxObserver : PerChannelMinMaxObserver
{
    private float[]? _firstMin, _firstMax;
    private long[]? _batches;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Settings; the scheme must be per channel.</param>
    /// <param name="averagingConstant">c in (0, 1]; PyTorch's default is 0.01.</param>
    public MovingAveragePerChannelMinMaxObserver(ObserverOptions? options = null, float averagingConstant = 0.01f)
        : base(options)
    {
        if (!(averagingConstant > 0f && averagingConstant <= 1f))
            throw new ArgumentOutOfRangeException(nameof(averagingConstant), averagingConstant, "The averaging constant must be in (0, 1].");
        AveragingConstant = averagingConstant;
    }

    /// <summary>The averaging constant c.</summary>
    public float AveragingConstant { get; }

    /// <summary>Per channel, how many batches had a finite value in it; null before the first batch.</summary>
    public IReadOnlyList<long>? BatchCounts => _batches;

    private protected override void Update(float[] batchMin, float[] batchMax)
    {
        if (MinValues is null || MaxValues is null || _batches is null)
            Allocate(batchMin.Length);
        for (int c = 0; c < batchMin.Length; c++)
        {
            if (!(batchMin[c] <= batchMax[c]))
                continue; // nothing finite in this channel this batch
            if (_batches![c] == 0)
            {
                MinValues![c] = _firstMin![c] = batchMin[c];
                MaxValues![c] = _firstMax![c] = batchMax[c];
            }
            else
            {
                MinValues![c] = MinValues[c] + AveragingConstant * (batchMin[c] - MinValues[c]);
                MaxValues![c] = MaxValues[c] + AveragingConstant * (batchMax[c] - MaxValues[c]);
            }

            _batches[c]++;
        }
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<MovingAveragePerChannelMinMaxObserver>(other);
        if (o.AveragingConstant != AveragingConstant)
            throw new ArgumentException($"Cannot merge moving-average observers with averaging constants {o.AveragingConstant} and {AveragingConstant}.", nameof(other));
        if (o._batches is null)
            return;
        CheckSameChannels(o);
        if (_batches is null)
            Allocate(o._batches.Length);
        for (int c = 0; c < _batches!.Length; c++)
        {
            long k = o._batches[c];
            if (k == 0)
                continue;
            if (_batches[c] == 0)
            {
                (MinValues![c], MaxValues![c]) = (o.MinValues![c], o.MaxValues![c]);
                (_firstMin![c], _firstMax![c]) = (o._firstMin![c], o._firstMax![c]);
            }
            else
            {
                double decay = Math.Pow(1.0 - AveragingConstant, k);
                MinValues![c] = (float)(o.MinValues![c] + decay * ((double)MinValues[c] - o._firstMin![c]));
                MaxValues![c] = (float)(o.MaxValues![c] + decay * ((double)MaxValues[c] - o._firstMax![c]));
            }

            _batches[c] += k;
        }
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MovingAveragePerChannelMinMaxObserver(Options, AveragingConstant);

    internal override void WriteState(StatisticsWriter writer)
    {
        base.WriteState(writer);
        writer.WriteSingles(_firstMin);
        writer.WriteSingles(_firstMax);
        writer.WriteInt64s(_batches);
    }

    internal override void ReadState(StatisticsReader reader)
    {
        base.ReadState(reader);
        var firstMin = reader.ReadSingles("the first per-channel minimums");
        var firstMax = reader.ReadSingles("the first per-channel maximums");
        var batches = reader.ReadInt64s("the per-channel batch counts");
        int channels = MinValues?.Length ?? -1;
        if ((firstMin?.Length ?? -1) != channels || (firstMax?.Length ?? -1) != channels || (batches?.Length ?? -1) != channels)
            throw reader.Error($"the moving average's per-channel arrays disagree on the channel count ({channels})");
        for (int c = 0; c < channels; c++)
        {
            bool empty = MinValues![c] > MaxValues![c];
            if (batches![c] < 0 || (batches[c] == 0) != empty || (!empty && !(float.IsFinite(firstMin![c]) && float.IsFinite(firstMax![c]))))
                throw reader.Error($"channel {c} holds {batches[c]} batches with range [{MinValues[c]}, {MaxValues[c]}]; they disagree");
        }

        (_firstMin, _firstMax, _batches) = (firstMin, firstMax, batches);
    }

    private void Allocate(int channels)
    {
        MinValues = new float[channels];
        MaxValues = new float[channels];
        MinValues.AsSpan().Fill(float.PositiveInfinity);
        MaxValues.AsSpan().Fill(float.NegativeInfinity);
        _firstMin = new float[channels];
        _firstMax = new float[channels];
        _batches = new long[channels];
    }
}
