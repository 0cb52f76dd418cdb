namespace MLNet.Quantization.Observers;

/// <summary>
/// Per-channel exponential moving average of min and max, as PyTorch's <c>MovingAveragePerChannelMinMaxObserver</c>.
/// Merging follows <see cref="MovingAverageMinMaxObserver"/>'s rule per channel.
/// </summary>
public sealed class MovingAveragePerChannelMinMaxObserver : PerChannelMinMaxObserver
{
    private float[]? _firstMin, _firstMax;
    private long _batches;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Common observer options (per channel).</param>
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

    /// <inheritdoc />
    protected override void Update(float[] batchMin, float[] batchMax)
    {
        if (_batches == 0 || Mins is null || Maxs is null)
        {
            Mins = batchMin;
            Maxs = batchMax;
            _firstMin = (float[])batchMin.Clone();
            _firstMax = (float[])batchMax.Clone();
        }
        else
        {
            for (int c = 0; c < Mins.Length; c++)
            {
                Mins[c] += AveragingConstant * (batchMin[c] - Mins[c]);
                Maxs[c] += AveragingConstant * (batchMax[c] - Maxs[c]);
            }
        }

        _batches++;
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<MovingAveragePerChannelMinMaxObserver>(other);
        if (o.AveragingConstant != AveragingConstant)
            throw new ArgumentException("Cannot merge moving-average observers with different averaging constants.", nameof(other));
        if (o._batches == 0 || o.Mins is null || o.Maxs is null)
            return;
        CheckChannels(o.Mins);
        if (_batches == 0 || Mins is null || Maxs is null)
        {
            Mins = (float[])o.Mins.Clone();
            Maxs = (float[])o.Maxs!.Clone();
            _firstMin = (float[])o._firstMin!.Clone();
            _firstMax = (float[])o._firstMax!.Clone();
            _batches = o._batches;
            return;
        }

        double decay = Math.Pow(1.0 - AveragingConstant, o._batches);
        for (int c = 0; c < Mins.Length; c++)
        {
            Mins[c] = (float)(o.Mins[c] + decay * ((double)Mins[c] - o._firstMin![c]));
            Maxs[c] = (float)(o.Maxs[c] + decay * ((double)Maxs[c] - o._firstMax![c]));
        }

        _batches += o._batches;
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MovingAveragePerChannelMinMaxObserver(Options, AveragingConstant);
}
