using System.Numerics.Tensors;
using MLNet.Quantization.Calibration;

namespace MLNet.Quantization.Observers.Histograms;

/// <summary>
/// ONNX Runtime's histogram over [−threshold, threshold] (<c>HistogramCollector.collect_value</c>): the first batch
/// fixes the bin width 2·threshold/bins; when a later batch has a larger threshold the histogram grows by whole
/// bins on both sides (<c>merge_histogram</c>), so existing counts never move between bins.
/// </summary>
/// <remarks>
/// ORT bins each later batch's raw values on the grown grid. Here every batch is first histogrammed on its own
/// grid and then merged (counts of the smaller-range histogram re-bucketed by interval overlap), which makes
/// observing A then B identical to merging A and B observed apart; the first batch is binned exactly as ORT does.
/// </remarks>
internal sealed class SymmetricHistogram
{
    private readonly int _initialBins;

    public SymmetricHistogram(int bins)
    {
        if (bins < 2 || bins % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "The histogram needs an even number of bins, at least 2.");
        _initialBins = bins;
        Counts = new double[bins];
    }

    public double[] Counts { get; private set; }

    /// <summary>The histogram covers [−Threshold, Threshold]; 0 for an all-zero tensor (binned as numpy does, over [−0.5, 0.5]).</summary>
    public float Threshold { get; private set; }

    public float Min { get; private set; } = float.PositiveInfinity;

    public float Max { get; private set; } = float.NegativeInfinity;

    public bool IsEmpty => Min > Max;

    /// <summary>Left edge of the grid.</summary>
    public double Low => Threshold == 0 ? -0.5 : -(double)Threshold;

    /// <summary>Right edge of the grid.</summary>
    public double High => Threshold == 0 ? 0.5 : Threshold;

    /// <summary>Edge k of the grid (numpy linspace: low + k · (high − low) / bins).</summary>
    public float Edge(int k) => (float)(Low + k * ((High - Low) / Counts.Length));

    public void Fill(ReadOnlySpan<float> values)
    {
        Counts = new double[_initialBins];
        Min = float.PositiveInfinity;
        Max = float.NegativeInfinity;
        Threshold = 0;
        if (!FiniteRange.TryGet(values, out float min, out float max, out bool allFinite))
            return;
        (Min, Max) = (min, max);
        Threshold = MathF.Max(MathF.Abs(min), MathF.Abs(max));
        int n = Counts.Length;
        double low = Low, high = High;
        double norm = n / (high - low);
        foreach (float x in values)
        {
            if (!allFinite && !float.IsFinite(x))
                continue;
            int b = (int)((x - low) * norm);
            if (b >= n)
                b = n - 1;
            else if (b < 0)
                b = 0;
            Counts[b] += 1;
        }
    }

    /// <summary>Writes the range, the threshold and the counts.</summary>
    public void WriteState(StatisticsWriter writer)
    {
        writer.WriteSingle(Min);
        writer.WriteSingle(Max);
        writer.WriteSingle(Threshold);
        writer.WriteDoubles(Counts);
    }

    /// <summary>
    /// Reads what <see cref="WriteState"/> wrote. The bin count is even and at least the initial one (it grows by
    /// whole bins on both sides); an empty histogram has the initial bins, no counts and threshold 0.
    /// </summary>
    public void ReadState(StatisticsReader reader)
    {
        var (min, max) = reader.ReadRange("the symmetric histogram");
        float threshold = reader.ReadSingle();
        var counts = reader.ReadCounts("the symmetric histogram");
        if (!float.IsFinite(threshold) || threshold < 0)
            throw reader.Error($"the symmetric histogram's threshold is {threshold}");
        if (counts.Length < _initialBins || counts.Length % 2 != 0)
            throw reader.Error($"the symmetric histogram has {counts.Length} bins; it needs an even number, at least {_initialBins}");
        if (min > max && (counts.Length != _initialBins || threshold != 0 || counts.Any(c => c != 0)))
            throw reader.Error("an empty symmetric histogram holds counts or a threshold");
        (Min, Max, Threshold, Counts) = (min, max, threshold, counts);
    }

    public void Merge(SymmetricHistogram other)
    {
        if (other.IsEmpty)
            return;
        if (IsEmpty)
        {
            Counts = (double[])other.Counts.Clone();
            (Min, Max, Threshold) = (other.Min, other.Max, other.Threshold);
            return;
        }

        if (other.Threshold > Threshold)
        {
            if (Threshold == 0)
            {
                // ORT: the old (all-zero) histogram is added element-wise to the new one; its mass sits at 0.
                var grown = (double[])other.Counts.Clone();
                grown[grown.Length / 2] += TensorPrimitives.Sum<double>(Counts);
                Counts = grown;
                Threshold = other.Threshold;
                (Min, Max) = (MathF.Min(Min, other.Min), MathF.Max(Max, other.Max));
                return;
            }

            double stride = 2.0 * Threshold / Counts.Length;
            int half = (int)Math.Floor((other.Threshold - Threshold) / stride) + 1;
            var counts = new double[Counts.Length + 2 * half];
            Array.Copy(Counts, 0, counts, half, Counts.Length);
            Counts = counts;
            Threshold = (float)(half * stride + Threshold);
        }

        Histogram.RebucketInto(other.Counts, (float)other.Low, (float)other.High, Counts, (float)Low, (float)High);
        (Min, Max) = (MathF.Min(Min, other.Min), MathF.Max(Max, other.Max));
    }
}
