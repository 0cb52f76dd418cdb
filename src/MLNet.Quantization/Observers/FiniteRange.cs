using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Min and max over the finite values of a tensor, whole or per channel. NaN and ±Inf are skipped.
/// </summary>
/// <remarks>
/// The fast path is TensorPrimitives' vectorized Min/Max. They propagate NaN and let ±Inf through, so finite results
/// prove every value was finite; otherwise a filtered pass (vectorized with a finiteness mask) recomputes the range.
/// </remarks>
internal static class FiniteRange
{
    /// <summary>Returns false when the span holds no finite value.</summary>
    public static bool TryGet(ReadOnlySpan<float> values, out float min, out float max) => TryGet(values, out min, out max, out _);

    /// <summary>Returns false when the span holds no finite value; <paramref name="allFinite"/> tells whether every value was finite.</summary>
    public static bool TryGet(ReadOnlySpan<float> values, out float min, out float max, out bool allFinite)
    {
        allFinite = false;
        min = float.PositiveInfinity;
        max = float.NegativeInfinity;
        if (values.IsEmpty)
            return false;

        float fastMin = TensorPrimitives.Min(values);
        float fastMax = TensorPrimitives.Max(values);
        if (float.IsFinite(fastMin) && float.IsFinite(fastMax))
        {
            (min, max, allFinite) = (fastMin, fastMax, true);
            return true;
        }

        (min, max) = Filtered(values);
        return min <= max;
    }

    /// <summary>
    /// Per-channel finite ranges of a C-order tensor viewed as [outer, channels, inner]. Channels without a finite value
    /// get (+Inf, −Inf).
    /// </summary>
    public static void PerChannel(ReadOnlySpan<float> values, int outer, int channels, int inner, Span<float> mins, Span<float> maxs)
    {
        mins.Fill(float.PositiveInfinity);
        maxs.Fill(float.NegativeInfinity);
        if (values.IsEmpty)
            return;
        if (inner == 1)
        {
            PerChannelLastAxis(values, outer, channels, mins, maxs);
            return;
        }

        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                if (TryGet(values.Slice((o * channels + c) * inner, inner), out float mn, out float mx))
                {
                    mins[c] = MathF.Min(mins[c], mn);
                    maxs[c] = MathF.Max(maxs[c], mx);
                }
            }
        }
    }

    /// <summary>Channels on the last axis: elementwise Min/Max across rows, then a filtered redo of any channel that met a non-finite value.</summary>
    private static void PerChannelLastAxis(ReadOnlySpan<float> values, int outer, int channels, Span<float> mins, Span<float> maxs)
    {
        values[..channels].CopyTo(mins);
        values[..channels].CopyTo(maxs);
        for (int o = 1; o < outer; o++)
        {
            var row = values.Slice(o * channels, channels);
            TensorPrimitives.Min(mins, row, mins);
            TensorPrimitives.Max(maxs, row, maxs);
        }

        for (int c = 0; c < channels; c++)
        {
            if (float.IsFinite(mins[c]) && float.IsFinite(maxs[c]))
                continue;
            float mn = float.PositiveInfinity, mx = float.NegativeInfinity;
            for (int o = 0; o < outer; o++)
            {
                float v = values[o * channels + c];
                if (float.IsFinite(v))
                {
                    mn = MathF.Min(mn, v);
                    mx = MathF.Max(mx, v);
                }
            }

            (mins[c], maxs[c]) = (mn, mx);
        }
    }

    /// <summary>Range of the finite values; (+Inf, −Inf) when there are none.</summary>
    private static (float Min, float Max) Filtered(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var vmin = new Vector<float>(float.PositiveInfinity);
            var vmax = new Vector<float>(float.NegativeInfinity);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
            foreach (var v in vectors)
            {
                var finite = Vector.Equals(v - v, Vector<float>.Zero); // x − x is NaN for NaN and ±Inf
                vmin = VectorOps.Min(vmin, Vector.ConditionalSelect(finite, v, new Vector<float>(float.PositiveInfinity)));
                vmax = VectorOps.Max(vmax, Vector.ConditionalSelect(finite, v, new Vector<float>(float.NegativeInfinity)));
            }

            for (int k = 0; k < Vector<float>.Count; k++)
            {
                min = MathF.Min(min, vmin[k]);
                max = MathF.Max(max, vmax[k]);
            }

            i = vectors.Length * Vector<float>.Count;
        }

        for (; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsFinite(v))
            {
                min = MathF.Min(min, v);
                max = MathF.Max(max, v);
            }
        }

        return (min, max);
    }
}
