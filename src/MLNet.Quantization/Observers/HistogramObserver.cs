using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers.Histograms;

namespace MLNet.Quantization.Observers;

/// <summary>
/// PyTorch's <c>HistogramObserver</c>: a 2048-bin histogram of the values seen, then the L2-norm non-linear search
/// (<c>_non_linear_param_search</c> with <c>_compute_quantization_error</c>) for the min and max that minimise the
/// quantization error into 2^bits destination bins; qparams as <see cref="MinMaxObserver"/> computes them from that range.
/// </summary>
/// <remarks>
/// <para>On the same histogram the search reproduces PyTorch: the alpha/beta walk in steps of 1e-5, the quantile
/// comparisons against the float32 cumulative sum, the per-bin error terms in float32 as torch evaluates them
/// (summed in float64, where torch sums float32 in its own order), and the float32 <c>min + bin_width · bin</c> result.</para>
/// <para>Histogram combination when a later batch widens the range: PyTorch versions differ here. This observer uses
/// exact interval-overlap re-bucketing onto the union range (see the internal <c>Histogram</c> type), and every
/// <see cref="Observer.Observe(ReadOnlySpan{float}, ReadOnlySpan{int})"/> is "histogram this batch over its own range,
/// then merge", so observing A then B is, by construction, the same as observing A and B apart and merging.</para>
/// <para>Non-finite values are dropped, as PyTorch drops ±Inf.</para>
/// </remarks>
public sealed class HistogramObserver : Observer
{
    /// <summary>PyTorch's default bin count.</summary>
    public const int DefaultBins = 2048;

    private const double StepSize = 1e-5;
    private readonly Histogram _histogram;
    private readonly Histogram _scratch;

    /// <summary>Creates the observer (per tensor, affine or symmetric).</summary>
    /// <param name="options">Common observer options.</param>
    /// <param name="bins">Histogram bins; PyTorch's default is 2048.</param>
    public HistogramObserver(ObserverOptions? options = null, int bins = DefaultBins)
        : base(options ?? new ObserverOptions())
    {
        if (Options.QScheme.IsPerChannel())
            throw new ArgumentException("HistogramObserver is per tensor; use a per-channel observer for per-channel schemes.", nameof(options));
        _ = QParamsCalculator.QuantRange(Options);
        _histogram = new Histogram(bins);
        _scratch = new Histogram(bins);
        Bins = bins;
        DestinationBins = Options.DataType switch
        {
            QuantDataType.UInt8 or QuantDataType.Int8 => 256,
            QuantDataType.UInt16 or QuantDataType.Int16 => 65536,
            _ => throw new ArgumentException($"HistogramObserver supports 8- and 16-bit types, not {Options.DataType}.", nameof(options)),
        };
    }

    /// <summary>The histogram's bin count.</summary>
    public int Bins { get; }

    /// <summary>2^bits of the quantized type (PyTorch's <c>dst_nbins</c>).</summary>
    public int DestinationBins { get; }

    /// <summary>The smallest finite value seen.</summary>
    public float Min => _histogram.Min;

    /// <summary>The largest finite value seen.</summary>
    public float Max => _histogram.Max;

    /// <summary>A copy of the bin counts.</summary>
    public double[] GetHistogram() => (double[])_histogram.Counts.Clone();

    /// <inheritdoc />
    public override bool HasObservations => !_histogram.IsEmpty;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        _scratch.Fill(values);
        _histogram.Merge(_scratch);
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<HistogramObserver>(other);
        if (o.Bins != Bins)
            throw new ArgumentException($"Cannot merge a {o.Bins}-bin histogram observer into a {Bins}-bin one.", nameof(other));
        _histogram.Merge(o._histogram);
    }

    /// <inheritdoc />
    public override QParams CalculateQParams()
    {
        if (_histogram.IsEmpty)
            return QParamsCalculator.Calculate(float.PositiveInfinity, float.NegativeInfinity, Options);
        var (min, max) = NonLinearParamSearch(_histogram.Counts, _histogram.Min, _histogram.Max, DestinationBins);
        return QParamsCalculator.Calculate(min, max, Options);
    }

    /// <summary>The range the L2 search picks, without turning it into qparams.</summary>
    public (float Min, float Max) SearchRange() =>
        _histogram.IsEmpty ? (float.PositiveInfinity, float.NegativeInfinity) : NonLinearParamSearch(_histogram.Counts, _histogram.Min, _histogram.Max, DestinationBins);

    /// <inheritdoc />
    public override Observer CreateEmpty() => new HistogramObserver(Options, Bins);

    internal override void WriteState(StatisticsWriter writer) => _histogram.WriteState(writer);

    internal override void ReadState(StatisticsReader reader) => _histogram.ReadState(reader);

    /// <summary>PyTorch's <c>_non_linear_param_search</c> on a histogram over [min, max].</summary>
    internal static (float Min, float Max) NonLinearParamSearch(ReadOnlySpan<double> histogram, float min, float max, int dstBins)
    {
        int bins = histogram.Length;
        float binWidth = (max - min) / bins; // float32 tensor arithmetic in torch
        if (binWidth == 0f)
            return (min, max); // every error is 0, so torch walks to the end without moving; the range is unchanged
        double wideWidth = ((double)max - min) / bins; // when max − min overflows float32 (values near ±3.4e38)

        // torch keeps the histogram in float32 and cumsum accumulates in double before storing float32
        var counts = new float[bins];
        var cSum = new float[bins];
        double running = 0, totalD = 0;
        for (int i = 0; i < bins; i++)
        {
            counts[i] = (float)histogram[i];
            totalD += counts[i];
        }

        for (int i = 0; i < bins; i++)
        {
            running += counts[i];
            cSum[i] = (float)running;
        }

        double total = totalD;
        double alpha = 0.0, beta = 1.0;
        int startBin = 0, endBin = bins - 1;
        double normMin = double.PositiveInfinity;
        while (alpha < beta)
        {
            double nextAlpha = alpha + StepSize;
            double nextBeta = beta - StepSize;
            int l = startBin, r = endBin;
            // tensor-vs-Python-float comparisons happen in float32
            float lowerBound = (float)(nextAlpha * total);
            float upperBound = (float)(nextBeta * total);
            while (l < endBin && cSum[l] < lowerBound)
                l++;
            while (r > startBin && cSum[r] > upperBound)
                r--;

            int nextStart = startBin, nextEnd = endBin;
            if (l - startBin > endBin - r)
            {
                nextStart = l;
                alpha = nextAlpha;
            }
            else
            {
                nextEnd = r;
                beta = nextBeta;
            }

            if (nextStart == startBin && nextEnd == endBin)
                continue;

            double norm = QuantizationError(counts, (double)max - min, nextStart, nextEnd, dstBins);
            if (norm > normMin)
                break;
            normMin = norm;
            startBin = nextStart;
            endBin = nextEnd;
        }

        if (!float.IsFinite(binWidth))
            return ((float)(min + (wideWidth * startBin)), (float)(min + (wideWidth * (endBin + 1))));
        return (min + binWidth * startBin, min + binWidth * (endBin + 1));
    }

    /// <summary>
    /// PyTorch's <c>_compute_quantization_error</c>: for each source bin (uniform density count / bin_width), the L2
    /// error of mapping it to the centres of the destination bins it overlaps, <c>density · (end³ − begin³) / 3</c>.
    /// </summary>
    internal static double QuantizationError(ReadOnlySpan<float> histogram, double range, int nextStartBin, int nextEndBin, int dstBins)
    {
        int bins = histogram.Length;
        double binWidth = range / bins; // Python float (double) in torch
        double dstBinWidth = binWidth * (nextEndBin - nextStartBin + 1) / dstBins;
        if (dstBinWidth == 0.0)
            return 0.0;

        // torch: int64 arange times a Python float gives float32 tensors; the rest follows in float32.
        float fBinWidth = (float)binWidth;
        float fDst = (float)dstBinWidth;
        float halfDst = (float)(dstBinWidth / 2);
        float fullNorm = (halfDst * halfDst * halfDst - (-halfDst) * (-halfDst) * (-halfDst)) / 3f;
        float maxDst = dstBins - 1;
        double sum = 0;
        for (int i = 0; i < bins; i++)
        {
            float srcBegin = (float)(i - nextStartBin) * fBinWidth;
            float srcEnd = srcBegin + fBinWidth;
            float dstOfBegin = Math.Clamp(MathF.Floor(srcBegin / fDst), 0f, maxDst);
            float dstOfBeginCenter = (dstOfBegin + 0.5f) * fDst;
            float dstOfEnd = Math.Clamp(MathF.Floor(srcEnd / fDst), 0f, maxDst);
            float density = histogram[i] / fBinWidth;

            float deltaBegin = srcBegin - dstOfBeginCenter;
            float norm = density * ((halfDst * halfDst * halfDst - deltaBegin * deltaBegin * deltaBegin) / 3f);
            norm += (dstOfEnd - dstOfBegin - 1f) * (density * fullNorm);
            float dstOfEndCenter = dstOfEnd * fDst + halfDst;
            float deltaEnd = srcEnd - dstOfEndCenter;
            norm += density * ((deltaEnd * deltaEnd * deltaEnd - (-halfDst) * (-halfDst) * (-halfDst)) / 3f);
            sum += norm;
        }

        return sum;
    }
}
