using System.Numerics.Tensors;

namespace MLNet.Quantization.Observers;

/// <summary>Min and max over the finite values of a span, vectorized with TensorPrimitives.</summary>
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

        // Fast path: TensorPrimitives propagates NaN and lets ±Inf through, so finite results mean every value was finite.
        float fastMin = TensorPrimitives.Min(values);
        float fastMax = TensorPrimitives.Max(values);
        if (float.IsFinite(fastMin) && float.IsFinite(fastMax))
        {
            min = fastMin;
            max = fastMax;
            allFinite = true;
            return true;
        }

        bool any = false;
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
                continue;
            any = true;
            if (v < min) min = v;
            if (v > max) max = v;
        }

        return any;
    }
}
