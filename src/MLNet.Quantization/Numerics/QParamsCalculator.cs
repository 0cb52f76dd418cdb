using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// Scale and zero point from an observed range, as PyTorch's <c>UniformQuantizationObserverBase._calculate_qparams</c>
/// computes them (float32 arithmetic, <c>torch.round</c> = round half to even).
/// </summary>
public static class QParamsCalculator
{
    /// <summary>
    /// The quantized range an observer with <paramref name="options"/> uses, as PyTorch's <c>calculate_qmin_qmax</c>:
    /// the type's range, halved by <c>reduce_range</c>, or the custom range when both bounds are given.
    /// </summary>
    public static (int QuantMin, int QuantMax) QuantRange(ObserverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.QuantMin is int customMin && options.QuantMax is int customMax)
        {
            if (customMin > 0 || customMax < 0)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] must include 0.", nameof(options));
            if (customMin >= customMax)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] is empty.", nameof(options));
            var (typeMin, typeMax) = options.DataType.FullRange();
            if (customMin < typeMin || customMax > typeMax)
                throw new ArgumentException($"Quantization range [{customMin}, {customMax}] does not fit {options.DataType}.", nameof(options));
            if (!options.ReduceRange)
                return (customMin, customMax);
            return (FloorDiv2(customMin), FloorDiv2(customMax));
        }

        if (options.QuantMin is not null || options.QuantMax is not null)
            throw new ArgumentException("Give both QuantMin and QuantMax, or neither.", nameof(options));

        return (options.DataType, options.ReduceRange) switch
        {
            (QuantDataType.Int8, true) => (-64, 63),
            (QuantDataType.UInt8, true) => (0, 127),
            (QuantDataType.Int16, true) => (-16384, 16383),
            (QuantDataType.UInt16, true) => (0, 32767),
            _ => options.DataType.FullRange(),
        };
    }

    /// <summary>
    /// Per-tensor qparams from a range. The range is first widened to include 0.
    /// Affine: <c>scale = max(eps, (max − min) / (qmax − qmin))</c>, <c>zp = clamp(qmin − round(min / scale), qmin, qmax)</c>.
    /// Symmetric: <c>scale = max(eps, max(−min, max) / ((qmax − qmin) / 2))</c>, zero point 0, or 128 for uint8
    /// (the middle of a custom range).
    /// </summary>
    public static QParams Calculate(float min, float max, ObserverOptions options)
    {
        var (scale, zp) = CalculateOne(min, max, options, out int qmin, out int qmax);
        return QParams.PerTensor(scale, zp, options.DataType, qmin, qmax);
    }

    /// <summary>Per-channel qparams from per-channel ranges along <see cref="ObserverOptions.ChannelAxis"/>.</summary>
    public static QParams CalculatePerChannel(ReadOnlySpan<float> mins, ReadOnlySpan<float> maxs, ObserverOptions options)
    {
        if (mins.Length != maxs.Length)
            throw new ArgumentException($"{mins.Length} minimums but {maxs.Length} maximums.", nameof(maxs));
        if (mins.Length == 0)
            throw new ArgumentException("Per-channel qparams need at least one channel.", nameof(mins));
        var scales = new float[mins.Length];
        var zps = new int[mins.Length];
        int qmin = 0, qmax = 0;
        for (int c = 0; c < mins.Length; c++)
            (scales[c], zps[c]) = CalculateOne(mins[c], maxs[c], options, out qmin, out qmax);
        return new QParams(scales, zps, options.DataType, options.ChannelAxis, qmin, qmax);
    }

    private static (float Scale, int ZeroPoint) CalculateOne(float min, float max, ObserverOptions options, out int qmin, out int qmax)
    {
        ArgumentNullException.ThrowIfNull(options);
        (qmin, qmax) = QuantRange(options);
        if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max) || min > max)
        {
            // PyTorch's check_min_max_valid: an empty or invalid range gives scale 1, zero point 0.
            return (1f, 0);
        }

        float minNeg = MathF.Min(min, 0f);
        float maxPos = MathF.Max(max, 0f);
        float eps = options.Eps;
        if (options.QScheme.IsSymmetric())
        {
            float absMax = MathF.Max(-minNeg, maxPos);
            float scale = MathF.Max(absMax / ((float)(qmax - qmin) / 2f), eps);
            int zp = options.DataType switch
            {
                QuantDataType.UInt8 when options.QuantMin is not null => (qmin + qmax) / 2,
                QuantDataType.UInt8 => 128,
                QuantDataType.UInt16 => 1 << 15,
                _ => 0,
            };
            return (scale, zp);
        }
        else
        {
            float scale = MathF.Max((maxPos - minNeg) / (float)(qmax - qmin), eps);
            int zp = qmin - (int)MathF.Round(minNeg / scale, MidpointRounding.ToEven);
            return (scale, Math.Clamp(zp, qmin, qmax));
        }
    }

    private static int FloorDiv2(int v) => (int)Math.Floor(v / 2.0);
}
