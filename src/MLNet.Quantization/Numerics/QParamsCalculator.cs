using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// Scale and zero point from an observed range, as PyTorch's <c>UniformQuantizationObserverBase._calculate_qparams</c>
/// computes them (float32 arithmetic, <c>torch.round</c> = round half to even), with the quantized range of
/// <c>torch.ao.quantization.utils.calculate_qmin_qmax</c>.
/// </summary>
/// <remarks>
/// Deliberate differences from PyTorch, all on inputs PyTorch mishandles or accepts silently:
/// <list type="bullet">
/// <item>A custom range must fit the data type (PyTorch only bounds its length for int8 and int32), and giving only one
/// of <see cref="ObserverOptions.QuantMin"/>/<see cref="ObserverOptions.QuantMax"/> is an error (PyTorch ignores it).</item>
/// <item>The zero point is computed in 64-bit integers, so full int32 ranges do not overflow as PyTorch's
/// <c>.to(torch.int)</c> can.</item>
/// <item>A range with a NaN, or with one infinite bound, is rejected (PyTorch would produce NaN or Inf scales).</item>
/// </list>
/// </remarks>
public static class QParamsCalculator
{
    /// <summary>
    /// The quantized range an observer with <paramref name="options"/> uses, as PyTorch's <c>calculate_qmin_qmax</c>:
    /// the type's range, with <c>reduce_range</c> halving int8/uint8 to [−64, 63]/[0, 127] (16- and 32-bit types ignore
    /// it); or the custom range when both bounds are given, floor-halved by <c>reduce_range</c> (<c>qmin // 2, qmax // 2</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The custom range excludes 0, is empty, does not fit the type, or only one bound is given.</exception>
    public static (int QuantMin, int QuantMax) QuantRange(ObserverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (typeMin, typeMax) = options.DataType.FullRange();
        if (options.QuantMin is int customMin && options.QuantMax is int customMax)
        {
            // PyTorch's validate_qmin_qmax: the range must include 0 and be non-empty.
            if (customMin > 0 || customMax < 0)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] must include 0.", nameof(options));
            if (customMin >= customMax)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] is empty: QuantMin must be below QuantMax.", nameof(options));
            if (customMin < typeMin || customMax > typeMax)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] does not fit {options.DataType} [{typeMin}, {typeMax}].", nameof(options));
            if (!options.ReduceRange)
                return (customMin, customMax);
            int reducedMin = FloorHalf(customMin), reducedMax = FloorHalf(customMax);
            if (reducedMin >= reducedMax)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] halved by ReduceRange is empty.", nameof(options));
            return (reducedMin, reducedMax);
        }

        if (options.QuantMin is not null || options.QuantMax is not null)
            throw new ArgumentException("Give both QuantMin and QuantMax, or neither.", nameof(options));

        return (options.DataType, options.ReduceRange) switch
        {
            (QuantDataType.Int8, true) => (-64, 63),
            (QuantDataType.UInt8, true) => (0, 127),
            _ => (typeMin, typeMax),
        };
    }

    /// <summary>
    /// Per-tensor qparams from a range. The range is first widened to include 0.
    /// Affine: <c>scale = max(eps, (max − min) / (qmax − qmin))</c>, <c>zp = clamp(qmin − round(min / scale), qmin, qmax)</c>.
    /// Symmetric: <c>scale = max(eps, max(−min, max) / ((qmax − qmin) / 2))</c>; zero point 0, except uint8: 128, or
    /// <c>(qmin + qmax) // 2</c> with a custom range; and uint16: 32768.
    /// </summary>
    /// <param name="min">The observed minimum; <c>+Inf</c> together with <paramref name="max"/> <c>−Inf</c> means "nothing observed".</param>
    /// <param name="max">The observed maximum.</param>
    /// <param name="options">The observer settings.</param>
    /// <returns>The qparams; scale 1 and zero point 0 (PyTorch's default) when nothing was observed.</returns>
    /// <exception cref="ArgumentException"><paramref name="min"/> &gt; <paramref name="max"/> (PyTorch asserts), a NaN, or one infinite bound.</exception>
    public static QParams Calculate(float min, float max, ObserverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (qmin, qmax) = QuantRange(options);
        var (scale, zp) = CalculateOne(min, max, options, qmin, qmax);
        return QParams.PerTensor(scale, zp, options.DataType, qmin, qmax);
    }

    /// <summary>
    /// Per-channel qparams from per-channel ranges along <see cref="ObserverOptions.ChannelAxis"/>. A channel whose range
    /// is (+Inf, −Inf), i.e. that saw no finite value, gets scale 1 and zero point 0.
    /// </summary>
    public static QParams CalculatePerChannel(ReadOnlySpan<float> mins, ReadOnlySpan<float> maxs, ObserverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (mins.Length != maxs.Length)
            throw new ArgumentException($"{mins.Length} minimums but {maxs.Length} maximums.", nameof(maxs));
        if (mins.Length == 0)
            throw new ArgumentException("Per-channel qparams need at least one channel.", nameof(mins));
        var (qmin, qmax) = QuantRange(options);
        var scales = new float[mins.Length];
        var zps = new int[mins.Length];
        for (int c = 0; c < mins.Length; c++)
            (scales[c], zps[c]) = CalculateOne(mins[c], maxs[c], options, qmin, qmax);
        return new QParams(scales, zps, options.DataType, options.ChannelAxis, qmin, qmax);
    }

    private static (float Scale, int ZeroPoint) CalculateOne(float min, float max, ObserverOptions options, int qmin, int qmax)
    {
        // PyTorch's check_min_max_valid: the untouched (+Inf, −Inf) pair means "not observed" and gives scale 1, zero point 0.
        if (min == float.PositiveInfinity && max == float.NegativeInfinity)
            return (1f, 0);
        if (!float.IsFinite(min) || !float.IsFinite(max))
            throw new ArgumentException($"Range [{min}, {max}] is not finite.", nameof(min));
        if (min > max)
            throw new ArgumentException($"Range minimum {min} is above its maximum {max}.", nameof(min));

        float minNeg = MathF.Min(min, 0f);
        float maxPos = MathF.Max(max, 0f);
        long levels = (long)qmax - qmin; // int32 ranges overflow int
        if (options.QScheme.IsSymmetric())
        {
            // float(quant_max - quant_min) / 2 is a Python float; dividing a float32 tensor by it rounds it to float32.
            float absMax = MathF.Max(-minNeg, maxPos);
            float scale = MathF.Max(absMax / (float)(levels / 2.0), options.Eps);
            int zp = options.DataType switch
            {
                QuantDataType.UInt8 when options.QuantMin is not null => (int)FloorHalf((long)qmin + qmax),
                QuantDataType.UInt8 => 128,
                QuantDataType.UInt16 => 1 << 15,
                _ => 0,
            };
            return (scale, zp);
        }
        else
        {
            float span = maxPos - minNeg;
            // a span that overflows float32 (a range near [−3.4e38, 3.4e38]) is divided in double; the scale fits a float
            float scale = MathF.Max(float.IsFinite(span) ? span / (float)levels : (float)(((double)maxPos - minNeg) / levels), options.Eps);
            // torch.round(min_val_neg / scale) in float32, half to even; then qmin minus it, clamped.
            double rounded = Math.Round((double)(minNeg / scale), MidpointRounding.ToEven);
            double zp = Math.Clamp(qmin - rounded, qmin, qmax);
            return (scale, (int)zp);
        }
    }

    /// <summary>Python's <c>v // 2</c> (floor division).</summary>
    private static int FloorHalf(int v) => (int)FloorHalf((long)v);

    private static long FloorHalf(long v) => v >= 0 ? v / 2 : -((-v + 1) / 2);
}
