using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers.Histograms;

namespace MLNet.Quantization.Observers;

/// <summary>
/// ONNX Runtime's entropy calibration (<c>calibrate.py</c>, <c>get_entropy_threshold</c>, TensorRT style): a histogram
/// over [−t, t], then the symmetric window around zero whose quantization into <see cref="QuantizedBins"/> bins
/// minimises the KL divergence from the clipped reference distribution.
/// </summary>
/// <remarks>
/// <para>The search follows ORT to the letter: outliers folded into the window's end bins, integer merging of bins,
/// expansion of q over every position of each merged group (truncated like ORT's int64 array), <c>smooth_distribution</c>
/// with eps 1e-4, KL as <c>scipy.stats.entropy</c> (both normalised, natural log), first minimum wins, result clipped
/// to the observed [min, max].</para>
/// <para>Default bins: 2048 (TensorRT's) rather than ORT's 128, which with 128 quantized bins leaves a single
/// candidate window and so no search.</para>
/// </remarks>
public sealed class EntropyObserver : Observer
{
    private readonly SymmetricHistogram _histogram;
    private readonly SymmetricHistogram _scratch;

    /// <summary>Creates the observer.</summary>
    /// <param name="options">Common observer options (per tensor).</param>
    /// <param name="bins">Initial histogram bins (even).</param>
    /// <param name="quantizedBins">Bins of the quantized candidate distribution; ORT's default is 128.</param>
    public EntropyObserver(ObserverOptions? options = null, int bins = 2048, int quantizedBins = 128)
        : base(options ?? new ObserverOptions())
    {
        if (Options.QScheme.IsPerChannel())
            throw new ArgumentException("EntropyObserver is per tensor.", nameof(options));
        if (quantizedBins < 2 || quantizedBins > bins)
            throw new ArgumentOutOfRangeException(nameof(quantizedBins), quantizedBins, $"Quantized bins must be in [2, {bins}].");
        _ = QParamsCalculator.QuantRange(Options);
        Bins = bins;
        QuantizedBins = quantizedBins;
        _histogram = new SymmetricHistogram(bins);
        _scratch = new SymmetricHistogram(bins);
    }

    /// <summary>The initial histogram bin count.</summary>
    public int Bins { get; }

    /// <summary>The quantized distribution's bin count.</summary>
    public int QuantizedBins { get; }

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
        var o = CheckMergeable<EntropyObserver>(other);
        if (o.Bins != Bins || o.QuantizedBins != QuantizedBins)
            throw new ArgumentException("Cannot merge entropy observers with different bin counts.", nameof(other));
        _histogram.Merge(o._histogram);
    }

    /// <summary>The clipping range the KL search picks.</summary>
    public (float Min, float Max) ComputeRange()
    {
        if (_histogram.IsEmpty)
            return (float.PositiveInfinity, float.NegativeInfinity);
        var (lo, hi) = EntropyThreshold(_histogram.Counts, _histogram.Edge, QuantizedBins);
        return (MathF.Max(lo, _histogram.Min), MathF.Min(hi, _histogram.Max));
    }

    /// <inheritdoc />
    public override QParams CalculateQParams()
    {
        var (lo, hi) = ComputeRange();
        return QParamsCalculator.Calculate(lo, hi, Options);
    }

    /// <inheritdoc />
    public override Observer CreateEmpty() => new EntropyObserver(Options, Bins, QuantizedBins);

    internal override void WriteState(StatisticsWriter writer) => _histogram.WriteState(writer);

    internal override void ReadState(StatisticsReader reader) => _histogram.ReadState(reader);

    /// <summary>ORT's <c>get_entropy_threshold</c> before the min/max clip.</summary>
    internal static (float Low, float High) EntropyThreshold(double[] hist, Func<int, float> edge, int quantizedBins)
    {
        int numBins = hist.Length;
        int zeroBin = numBins / 2;
        int halfQuantized = quantizedBins / 2;
        double bestKl = double.PositiveInfinity;
        (float, float) best = (edge(zeroBin - halfQuantized), edge(Math.Min(zeroBin + halfQuantized + 1, numBins)));
        var prefix = new double[numBins + 1];
        for (int k = 0; k < numBins; k++)
            prefix[k + 1] = prefix[k] + hist[k];

        for (int i = halfQuantized; i <= zeroBin; i++)
        {
            int start = zeroBin - i;
            int end = Math.Min(zeroBin + i + 1, numBins);
            int size = end - start;
            var p = new double[size];
            Array.Copy(hist, start, p, 0, size);
            p[0] += prefix[start];
            p[^1] += prefix[numBins] - prefix[end];

            int merged = size / quantizedBins;
            var quantized = new double[quantizedBins];
            for (int q = 0; q < quantizedBins; q++)
                quantized[q] = Math.Floor(prefix[start + (q + 1) * merged] - prefix[start + q * merged]); // int64 sums
            quantized[^1] += Math.Floor(prefix[end] - prefix[start + quantizedBins * merged]);

            var qDist = new double[size];
            for (int q = 0; q < quantizedBins; q++)
            {
                int s = q * merged;
                int nonzero = 0;
                for (int k = s; k < s + merged; k++)
                {
                    if (p[k] != 0)
                        nonzero++;
                }

                if (nonzero != 0)
                {
                    double value = Math.Truncate(quantized[q] / nonzero); // assigned into an int64 array
                    for (int k = s; k < s + merged; k++)
                        qDist[k] = value;
                }
            }

            double kl = (float)KlDivergence(Smooth(p), Smooth(qDist)); // ORT stores each divergence as float32
            if (kl < bestKl)
            {
                bestKl = kl;
                best = (edge(start), edge(end));
            }
        }

        return best;
    }

    /// <summary>ORT's <c>smooth_distribution</c> (eps 1e-4), in float32 as ORT computes it; null when all entries are 0 or it cannot smooth.</summary>
    internal static float[]? Smooth(double[] p, float eps = 0.0001f)
    {
        int zeros = 0;
        foreach (double v in p)
        {
            if (v == 0)
                zeros++;
        }

        int nonzeros = p.Length - zeros;
        if (nonzeros == 0)
            return null;
        float eps1 = eps * zeros / nonzeros;
        if (eps1 >= 1f)
            return null;
        var result = new float[p.Length];
        for (int i = 0; i < p.Length; i++)
            result[i] = (float)p[i] + (p[i] == 0 ? eps : -eps1);
        foreach (float v in result)
        {
            if (v <= 0)
                return null;
        }

        return result;
    }

    /// <summary><c>scipy.stats.entropy(p, q)</c>: both normalised, Σ p·ln(p/q); +∞ when either is missing.</summary>
    internal static double KlDivergence(float[]? p, float[]? q)
    {
        if (p is null || q is null)
            return double.PositiveInfinity;
        double sp = 0, sq = 0;
        for (int i = 0; i < p.Length; i++)
        {
            sp += p[i];
            sq += q[i];
        }

        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double pi = p[i] / sp, qi = q[i] / sq;
            if (pi > 0)
                kl += pi * Math.Log(pi / qi);
        }

        return kl;
    }
}
