using System.Buffers;
using System.Numerics.Tensors;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers.Histograms;

namespace MLNet.Quantization.Observers;

/// <summary>
/// ONNX Runtime's percentile calibration (<c>calibrate.py</c>, <c>CalibrationMethod.Percentile</c>): a histogram of
/// the values, then the range that keeps <see cref="Percentile"/> percent of them.
/// </summary>
/// <remarks>
/// <para>Symmetric (ORT's default): a histogram of |x| over [min|x|, max|x|]; the threshold is the histogram edge at
/// the first bin where the cumulative share reaches percentile/100 (<c>searchsorted</c>); the range is
/// [−threshold, threshold] clipped to the observed [min, max].</para>
/// <para>Asymmetric: a histogram over [−t, t] cut by (100 − percentile)/200 on each side.</para>
/// <para>Later batches merge by re-bucketing (see <see cref="HistogramObserver"/>), so merging is exact by construction.</para>
/// </remarks>
public sealed class PercentileObserver : Observer
{
    private readonly Histogram? _absolute;
    private readonly Histogram? _absoluteScratch;
    private readonly SymmetricHistogram? _signed;
    private readonly SymmetricHistogram? _signedScratch;
    private float _min = float.PositiveInfinity, _max = float.NegativeInfinity;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Common observer options (per tensor).</param>
    /// <param name="percentile">The share of values to keep, in (0, 100]; ORT's default is 99.999.</param>
    /// <param name="bins">Histogram bins; ORT's default is 2048.</param>
    /// <param name="symmetric">Histogram |x| and clip symmetrically (ORT's default), or cut both tails of x.</param>
    public PercentileObserver(ObserverOptions? options = null, double percentile = 99.999, int bins = 2048, bool symmetric = true)
        : base(options ?? new ObserverOptions())
    {
        if (Options.QScheme.IsPerChannel())
            throw new ArgumentException("PercentileObserver is per tensor.", nameof(options));
        if (!(percentile > 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (0, 100].");
        _ = QParamsCalculator.QuantRange(Options);
        Percentile = percentile;
        Bins = bins;
        Symmetric = symmetric;
        if (symmetric)
        {
            _absolute = new Histogram(bins);
            _absoluteScratch = new Histogram(bins);
        }
        else
        {
            _signed = new SymmetricHistogram(bins);
            _signedScratch = new SymmetricHistogram(bins);
        }
    }

    /// <summary>The share of values kept, in percent.</summary>
    public double Percentile { get; }

    /// <summary>The histogram's initial bin count.</summary>
    public int Bins { get; }

    /// <summary>Whether |x| is histogrammed and clipped symmetrically.</summary>
    public bool Symmetric { get; }

    /// <inheritdoc />
    public override bool HasObservations => _min <= _max;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        if (!FiniteRange.TryGet(values, out float min, out float max))
            return;
        _min = MathF.Min(_min, min);
        _max = MathF.Max(_max, max);
        if (_signed is not null)
        {
            _signedScratch!.Fill(values);
            _signed.Merge(_signedScratch);
            return;
        }

        var buffer = ArrayPool<float>.Shared.Rent(values.Length);
        try
        {
            var abs = buffer.AsSpan(0, values.Length);
            TensorPrimitives.Abs(values, abs);
            _absoluteScratch!.Fill(abs);
            _absolute!.Merge(_absoluteScratch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<PercentileObserver>(other);
        if (o.Percentile != Percentile || o.Bins != Bins || o.Symmetric != Symmetric)
            throw new ArgumentException("Cannot merge percentile observers with different settings.", nameof(other));
        if (!o.HasObservations)
            return;
        _min = MathF.Min(_min, o._min);
        _max = MathF.Max(_max, o._max);
        _absolute?.Merge(o._absolute!);
        _signed?.Merge(o._signed!);
    }

    /// <summary>The clipping range ORT's percentile method picks.</summary>
    public (float Min, float Max) ComputeRange()
    {
        if (!HasObservations)
            return (float.PositiveInfinity, float.NegativeInfinity);
        float lo, hi;
        if (_absolute is not null)
        {
            var cdf = Cdf(_absolute.Counts);
            int right = SearchSorted(cdf, Percentile / 100.0);
            float edge = AbsoluteEdge(right);
            (lo, hi) = (-edge, edge);
        }
        else
        {
            var cdf = Cdf(_signed!.Counts);
            double cut = (100.0 - Percentile) / 200.0;
            (lo, hi) = (_signed.Edge(SearchSorted(cdf, cut)), _signed.Edge(SearchSorted(cdf, 1.0 - cut)));
        }

        return (MathF.Max(lo, _min), MathF.Min(hi, _max));
    }

    private float AbsoluteEdge(int k)
    {
        var h = _absolute!;
        double width = ((double)h.Max - h.Min) / h.Bins;
        return (float)(h.Min + k * width);
    }

    /// <inheritdoc />
    public override QParams CalculateQParams()
    {
        var (lo, hi) = ComputeRange();
        return QParamsCalculator.Calculate(lo, hi, Options);
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new PercentileObserver(Options, Percentile, Bins, Symmetric);

    internal override void WriteState(StatisticsWriter writer)
    {
        writer.WriteSingle(_min);
        writer.WriteSingle(_max);
        if (_absolute is not null)
            _absolute.WriteState(writer);
        else
            _signed!.WriteState(writer);
    }

    internal override void ReadState(StatisticsReader reader)
    {
        var (min, max) = reader.ReadRange("the percentile observer's min/max");
        if (_absolute is not null)
            _absolute.ReadState(reader);
        else
            _signed!.ReadState(reader);
        bool histogramEmpty = _absolute?.IsEmpty ?? _signed!.IsEmpty;
        if (histogramEmpty != min > max)
            throw reader.Error($"the percentile observer's range [{min}, {max}] disagrees with its histogram");
        (_min, _max) = (min, max);
    }

    /// <summary><c>np.cumsum(hist / total)</c>.</summary>
    internal static double[] Cdf(double[] hist)
    {
        double total = TensorPrimitives.Sum<double>(hist);
        var cdf = new double[hist.Length];
        double running = 0;
        for (int i = 0; i < hist.Length; i++)
        {
            running += hist[i] / total;
            cdf[i] = running;
        }

        return cdf;
    }

    /// <summary><c>np.searchsorted(a, v)</c> (side left): the first index with a[i] ≥ v, or a.Length.</summary>
    internal static int SearchSorted(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
                lo = mid + 1;
            else
                hi = mid;
        }

        return lo;
    }
}
