using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks an exponential moving average of each batch's min and max, as PyTorch's <c>MovingAverageMinMaxObserver</c>:
/// the first batch sets the range, later ones move it by <c>m ← m + c · (batch − m)</c>.
/// </summary>
/// <remarks>
/// Merging is exact in real arithmetic: a sequence B of k batches observed apart (its first batch b₁ set its range directly)
/// continued after A would have reached <c>m_B + (1 − c)^k · (m_A − b₁)</c>, so the observer keeps b₁ and k.
/// In float32 the merged and sequential results agree to rounding.
/// </remarks>
public sealed class MovingAverageMinMaxObserver : MinMaxObserver
{
    private float _firstMin, _firstMax;
    private long _batches;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Common observer options (per tensor).</param>
    /// <param name="averagingConstant">c in (0, 1]; PyTorch's default is 0.01.</param>
    public MovingAverageMinMaxObserver(ObserverOptions? options = null, float averagingConstant = 0.01f)
        : base(options)
    {
        if (!(averagingConstant > 0f && averagingConstant <= 1f))
            throw new ArgumentOutOfRangeException(nameof(averagingConstant), averagingConstant, "The averaging constant must be in (0, 1].");
        AveragingConstant = averagingConstant;
    }

    /// <summary>The averaging constant c.</summary>
    public float AveragingConstant { get; }

    /// <inheritdoc />
    protected override void Update(float batchMin, float batchMax)
    {
        if (_batches == 0)
        {
            Min = _firstMin = batchMin;
            Max = _firstMax = batchMax;
        }
        else
        {
            Min += AveragingConstant * (batchMin - Min);
            Max += AveragingConstant * (batchMax - Max);
        }

        _batches++;
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<MovingAverageMinMaxObserver>(other);
        if (o.AveragingConstant != AveragingConstant)
            throw new ArgumentException("Cannot merge moving-average observers with different averaging constants.", nameof(other));
        if (o._batches == 0)
            return;
        if (_batches == 0)
        {
            (Min, Max, _firstMin, _firstMax, _batches) = (o.Min, o.Max, o._firstMin, o._firstMax, o._batches);
            return;
        }

        double decay = Math.Pow(1.0 - AveragingConstant, o._batches);
        Min = (float)(o.Min + decay * ((double)Min - o._firstMin));
        Max = (float)(o.Max + decay * ((double)Max - o._firstMax));
        _batches += o._batches;
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MovingAverageMinMaxObserver(Options, AveragingConstant);
}
