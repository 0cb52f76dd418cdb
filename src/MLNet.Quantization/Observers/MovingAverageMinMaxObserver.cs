using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks an exponential moving average of each batch's min and max, as PyTorch's <c>MovingAverageMinMaxObserver</c>:
/// the first batch sets the range, later ones move it by <c>m ← m + c · (b − m)</c> in float32.
/// </summary>
/// <remarks>
/// A batch without a finite value is skipped (it does not count as a batch). Merging is exact in real arithmetic: a
/// sequence B of k batches observed apart, whose first batch b₁ set its range directly, continued after A's range m_A
/// would have reached <c>m_B + (1 − c)^k · (m_A − b₁)</c>; the observer keeps b₁ and k to apply that. The merged and
/// sequential float32 results agree to rounding, not bit for bit.
/// </remarks>
public sealed class MovingAverageMinMaxObserver : MinMaxObserver
{
    private float _firstMin, _firstMax;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Settings; the scheme must be per tensor.</param>
    /// <param name="averagingConstant">c in (0, 1]; PyTorch's default is 0.01 (1 keeps only the last batch).</param>
    public MovingAverageMinMaxObserver(ObserverOptions? options = null, float averagingConstant = 0.01f)
        : base(options)
    {
        if (!(averagingConstant > 0f && averagingConstant <= 1f))
            throw new ArgumentOutOfRangeException(nameof(averagingConstant), averagingConstant, "The averaging constant must be in (0, 1].");
        AveragingConstant = averagingConstant;
    }

    /// <summary>The averaging constant c.</summary>
    public float AveragingConstant { get; }

    /// <summary>How many batches with a finite value have been folded in.</summary>
    public long BatchCount { get; private set; }

    /// <inheritdoc />
    protected override void Update(float batchMin, float batchMax)
    {
        if (BatchCount == 0)
        {
            Min = _firstMin = batchMin;
            Max = _firstMax = batchMax;
        }
        else
        {
            // PyTorch: min_val + averaging_constant * (min_val_cur - min_val), each operation rounded to float32.
            Min = Min + AveragingConstant * (batchMin - Min);
            Max = Max + AveragingConstant * (batchMax - Max);
        }

        BatchCount++;
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<MovingAverageMinMaxObserver>(other);
        if (o.AveragingConstant != AveragingConstant)
            throw new ArgumentException($"Cannot merge moving-average observers with averaging constants {o.AveragingConstant} and {AveragingConstant}.", nameof(other));
        if (o.BatchCount == 0)
            return;
        if (BatchCount == 0)
        {
            (Min, Max, _firstMin, _firstMax, BatchCount) = (o.Min, o.Max, o._firstMin, o._firstMax, o.BatchCount);
            return;
        }

        double decay = Math.Pow(1.0 - AveragingConstant, o.BatchCount);
        Min = (float)(o.Min + decay * ((double)Min - o._firstMin));
        Max = (float)(o.Max + decay * ((double)Max - o._firstMax));
        BatchCount += o.BatchCount;
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MovingAverageMinMaxObserver(Options, AveragingConstant);

    internal override void WriteState(StatisticsWriter writer)
    {
        base.WriteState(writer);
        writer.WriteSingle(BatchCount == 0 ? float.PositiveInfinity : _firstMin);
        writer.WriteSingle(BatchCount == 0 ? float.NegativeInfinity : _firstMax);
        writer.WriteInt64(BatchCount);
    }

    internal override void ReadState(StatisticsReader reader)
    {
        base.ReadState(reader);
        var (firstMin, firstMax) = reader.ReadRange("the first batch's min/max");
        long batches = reader.ReadInt64();
        bool empty = batches == 0 && !HasObservations && firstMin > firstMax;
        if (batches < 0 || (!empty && (batches == 0 || !HasObservations || firstMin > firstMax)))
            throw reader.Error($"the moving average holds {batches} batches with range [{Min}, {Max}] and first range [{firstMin}, {firstMax}]; they disagree");
        (_firstMin, _firstMax, BatchCount) = empty ? (0f, 0f, 0L) : (firstMin, firstMax, batches);
    }
}
