using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MLNet.Quantization.Calibration;

namespace MLNet.Quantization.Observers.Histograms;

/// <summary>
/// A fixed-bin-count histogram over [Min, Max] with mergeable counts. Binning follows <c>torch.histc</c>
/// (float32 <c>(x − min) · bins / (max − min)</c>, truncated; the maximum lands in the last bin).
/// </summary>
/// <remarks>
/// Combining two histograms over different ranges re-buckets each onto the union range assuming a uniform density
/// inside every source bin, splitting each bin's count by interval overlap. That is the limit of PyTorch's
/// "upsample then down-sample" combination (<c>_combine_histograms</c>, upsample rate 128) as the rate grows, with no
/// grid alignment step, so the result depends only on the data ranges and not on how the data was batched.
/// A zero-width histogram (a constant tensor) is a point mass, re-bucketed into the bin holding its value.
/// </remarks>
internal sealed class Histogram
{
    public Histogram(int bins)
    {
        if (bins <= 0)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "A histogram needs at least one bin.");
        Counts = new double[bins];
    }

    public double[] Counts { get; private set; }

    public float Min { get; private set; } = float.PositiveInfinity;

    public float Max { get; private set; } = float.NegativeInfinity;

    public bool IsEmpty => Min > Max;

    public int Bins => Counts.Length;

    public double Total => TensorPrimitives.Sum<double>(Counts);

    /// <summary>Replaces the contents with the histogram of the finite values of <paramref name="values"/>.</summary>
    public void Fill(ReadOnlySpan<float> values)
    {
        Array.Clear(Counts);
        Min = float.PositiveInfinity;
        Max = float.NegativeInfinity;
        if (!FiniteRange.TryGet(values, out float min, out float max, out bool allFinite))
            return;
        Min = min;
        Max = max;
        int bins = Counts.Length;
        float range = max - min;
        if (range == 0f)
        {
            // torch.histc widens an empty range; every finite value is the same, so one bin holds them all.
            Counts[bins / 2] = CountFinite(values);
            return;
        }

        if (!float.IsFinite(range))
        {
            // max − min overflows float32 (values near ±3.4e38): the bins are computed in double instead.
            FillWide(values, min, (double)max - min);
            return;
        }

        if (allFinite)
        {
            FillFinite(values, min, range);
            return;
        }

        var counts = Counts;
        float fbins = bins;
        foreach (float x in values)
        {
            if (!float.IsFinite(x))
                continue;
            counts[BinOf(x, min, fbins, range, bins)] += 1;
        }
    }

    /// <summary>Bins of the finite values when the range only fits a double; the same formula as <see cref="BinOf"/>.</summary>
    private void FillWide(ReadOnlySpan<float> values, float min, double range)
    {
        int bins = Counts.Length;
        foreach (float x in values)
        {
            if (!float.IsFinite(x))
                continue;
            int b = (int)(((double)x - min) * bins / range);
            Counts[b >= bins ? bins - 1 : b < 0 ? 0 : b] += 1;
        }
    }

    /// <summary>torch.histc's bin of a finite value: float32 <c>(x − min) · bins / range</c>, truncated, clamped.</summary>
    private static int BinOf(float x, float min, float fbins, float range, int bins)
    {
        int b = (int)((x - min) * fbins / range);
        return b >= bins ? bins - 1 : b < 0 ? 0 : b;
    }

    /// <summary>
    /// The all-finite fast path, bit-identical to <see cref="BinOf"/>. Bin indices are computed a chunk at a time with
    /// the widest hardware vectors (the same float32 operations in the same order), then counted into four interleaved
    /// integer histograms so that runs of equal values (the zeros after a ReLU) do not serialize on one counter.
    /// </summary>
    private void FillFinite(ReadOnlySpan<float> values, float min, float range)
    {
        int bins = Counts.Length;
        var partial = new int[4 * bins];
        // A heap buffer: the JIT compiles the counting loop below about 1.7x slower over a stackalloc'd span.
        var index = new int[Math.Min(IndexChunk, values.Length)];
        ref int c0 = ref MemoryMarshal.GetArrayDataReference(partial);
        ref int i0 = ref MemoryMarshal.GetArrayDataReference(index);
        for (int start = 0; start < values.Length; start += IndexChunk)
        {
            int n = Math.Min(IndexChunk, values.Length - start);
            BinIndices(values.Slice(start, n), min, range, bins, index.AsSpan(0, n));
            int i = 0;
            // every index is clamped to [0, bins), so the unchecked increments stay inside partial
            for (; i <= n - 4; i += 4)
            {
                Unsafe.Add(ref c0, Unsafe.Add(ref i0, i))++;
                Unsafe.Add(ref c0, bins + Unsafe.Add(ref i0, i + 1))++;
                Unsafe.Add(ref c0, (2 * bins) + Unsafe.Add(ref i0, i + 2))++;
                Unsafe.Add(ref c0, (3 * bins) + Unsafe.Add(ref i0, i + 3))++;
            }

            for (; i < n; i++)
                Unsafe.Add(ref c0, Unsafe.Add(ref i0, i))++;
        }

        var counts = Counts;
        for (int b = 0; b < bins; b++)
            counts[b] += partial[b] + (double)partial[bins + b] + partial[(2 * bins) + b] + partial[(3 * bins) + b];
    }

    private const int IndexChunk = 1024;

    /// <summary>torch.histc bin indices of finite values, <see cref="BinOf"/> a vector at a time, written to <paramref name="index"/>.</summary>
    internal static void BinIndices(ReadOnlySpan<float> values, float min, float range, int bins, Span<int> index)
    {
        float fbins = bins;
        int i = 0;
        ref float src = ref MemoryMarshal.GetReference(values);
        ref int dst = ref MemoryMarshal.GetReference(index);
        if (Vector512.IsHardwareAccelerated)
        {
            var vMin = Vector512.Create(min);
            var vBins = Vector512.Create(fbins);
            var vRange = Vector512.Create(range);
            var vLast = Vector512.Create(bins - 1);
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var b = Vector512.ConvertToInt32((Vector512.LoadUnsafe(ref src, (nuint)i) - vMin) * vBins / vRange);
                Vector512.Min(Vector512.Max(b, Vector512<int>.Zero), vLast).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vMin = Vector256.Create(min);
            var vBins = Vector256.Create(fbins);
            var vRange = Vector256.Create(range);
            var vLast = Vector256.Create(bins - 1);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var b = Vector256.ConvertToInt32((Vector256.LoadUnsafe(ref src, (nuint)i) - vMin) * vBins / vRange);
                Vector256.Min(Vector256.Max(b, Vector256<int>.Zero), vLast).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
            index[i] = BinOf(values[i], min, fbins, range, bins);
    }

    private static long CountFinite(ReadOnlySpan<float> values)
    {
        long n = 0;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
                n++;
        }

        return n;
    }

    /// <summary>Adds <paramref name="other"/>'s counts, re-bucketing both onto the union of the two ranges.</summary>
    public void Merge(Histogram other)
    {
        if (other.Bins != Bins)
            throw new ArgumentException($"Cannot merge a {other.Bins}-bin histogram into a {Bins}-bin one.", nameof(other));
        if (other.IsEmpty)
            return;
        if (IsEmpty)
        {
            Counts = (double[])other.Counts.Clone();
            (Min, Max) = (other.Min, other.Max);
            return;
        }

        float min = MathF.Min(Min, other.Min);
        float max = MathF.Max(Max, other.Max);
        if (min == Min && max == Max && other.Min == Min && other.Max == Max)
        {
            TensorPrimitives.Add(Counts, other.Counts, Counts);
            return;
        }

        var combined = new double[Bins];
        RebucketInto(Counts, Min, Max, combined, min, max);
        RebucketInto(other.Counts, other.Min, other.Max, combined, min, max);
        Counts = combined;
        (Min, Max) = (min, max);
    }

    /// <summary>Spreads <paramref name="source"/> (over [srcMin, srcMax]) onto <paramref name="dest"/> (over [dstMin, dstMax]) by interval overlap.</summary>
    internal static void RebucketInto(double[] source, float srcMin, float srcMax, double[] dest, float dstMin, float dstMax)
    {
        int n = dest.Length;
        double dstWidth = ((double)dstMax - dstMin) / n;
        if (dstWidth == 0)
        {
            dest[n / 2] += TensorPrimitives.Sum<double>(source);
            return;
        }

        double srcWidth = ((double)srcMax - srcMin) / source.Length;
        if (srcWidth == 0)
        {
            // a constant source: all its mass sits at srcMin
            int b = Math.Clamp((int)(((double)srcMin - dstMin) / dstWidth), 0, n - 1);
            dest[b] += TensorPrimitives.Sum<double>(source);
            return;
        }

        if (srcMin == dstMin && srcMax == dstMax && source.Length == n)
        {
            TensorPrimitives.Add(dest, source, dest);
            return;
        }

        for (int i = 0; i < source.Length; i++)
        {
            double count = source[i];
            if (count == 0)
                continue;
            double lo = srcMin + i * srcWidth;
            double hi = lo + srcWidth;
            double posLo = (lo - dstMin) / dstWidth;
            double posHi = (hi - dstMin) / dstWidth;
            int first = Math.Clamp((int)Math.Floor(posLo), 0, n - 1);
            int last = Math.Clamp((int)Math.Ceiling(posHi) - 1, 0, n - 1);
            if (first == last)
            {
                dest[first] += count;
                continue;
            }

            double span = posHi - posLo;
            for (int b = first; b <= last; b++)
            {
                double overlap = Math.Min(posHi, b + 1) - Math.Max(posLo, b);
                if (overlap > 0)
                    dest[b] += count * (overlap / span);
            }
        }
    }

    /// <summary>Writes the range and the counts.</summary>
    public void WriteState(StatisticsWriter writer)
    {
        writer.WriteSingle(Min);
        writer.WriteSingle(Max);
        writer.WriteDoubles(Counts);
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote: the bin count must be this histogram's, an empty one holds no counts.</summary>
    public void ReadState(StatisticsReader reader)
    {
        var (min, max) = reader.ReadRange("the histogram");
        var counts = reader.ReadCounts("the histogram");
        if (counts.Length != Bins)
            throw reader.Error($"the histogram has {counts.Length} bins where the observer has {Bins}");
        if (min > max && counts.Any(c => c != 0))
            throw reader.Error("an empty histogram holds counts");
        (Min, Max, Counts) = (min, max, counts);
    }

    public Histogram Clone()
    {
        var copy = new Histogram(Bins) { Min = Min, Max = Max };
        Array.Copy(Counts, copy.Counts, Bins);
        return copy;
    }
}
