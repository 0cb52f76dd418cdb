namespace MLNet.Quantization.Numerics;

/// <summary>
/// Quantization parameters of one tensor: a scale and zero point per tensor, or one of each per channel along
/// <see cref="Axis"/>. <c>q = saturate(roundHalfToEven(x / scale) + zeroPoint)</c>, <c>x̂ = (q − zeroPoint) · scale</c>.
/// </summary>
public sealed class QParams
{
    /// <summary>Creates quantization parameters.</summary>
    /// <param name="scales">One scale (per tensor) or one per channel. Each must be finite and positive.</param>
    /// <param name="zeroPoints">Same length as <paramref name="scales"/>.</param>
    /// <param name="dataType">The quantized integer type.</param>
    /// <param name="axis">The channel axis for per-channel parameters; <c>null</c> for per tensor.</param>
    /// <param name="quantMin">Lowest quantized value; defaults to the type's minimum.</param>
    /// <param name="quantMax">Highest quantized value; defaults to the type's maximum.</param>
    public QParams(float[] scales, int[] zeroPoints, QuantDataType dataType, int? axis = null, int? quantMin = null, int? quantMax = null)
    {
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(zeroPoints);
        if (scales.Length == 0)
            throw new ArgumentException("At least one scale is required.", nameof(scales));
        if (scales.Length != zeroPoints.Length)
            throw new ArgumentException($"{scales.Length} scales but {zeroPoints.Length} zero points.", nameof(zeroPoints));
        if (axis is null && scales.Length != 1)
            throw new ArgumentException($"Per-tensor parameters take one scale, got {scales.Length}; pass an axis for per-channel.", nameof(axis));
        for (int i = 0; i < scales.Length; i++)
        {
            if (!float.IsFinite(scales[i]) || scales[i] <= 0f)
                throw new ArgumentException($"Scale {i} is {scales[i]}; scales must be finite and positive.", nameof(scales));
        }

        var (typeMin, typeMax) = dataType.FullRange();
        QuantMin = quantMin ?? typeMin;
        QuantMax = quantMax ?? typeMax;
        if (QuantMin < typeMin || QuantMax > typeMax || QuantMin >= QuantMax)
            throw new ArgumentException($"Quantization range [{QuantMin}, {QuantMax}] does not fit {dataType} [{typeMin}, {typeMax}].");
        for (int i = 0; i < zeroPoints.Length; i++)
        {
            if (zeroPoints[i] < typeMin || zeroPoints[i] > typeMax)
                throw new ArgumentException($"Zero point {i} is {zeroPoints[i]}, outside {dataType} [{typeMin}, {typeMax}].", nameof(zeroPoints));
        }

        Scales = scales;
        ZeroPoints = zeroPoints;
        DataType = dataType;
        Axis = axis;
    }

    /// <summary>Per-tensor parameters.</summary>
    public static QParams PerTensor(float scale, int zeroPoint, QuantDataType dataType, int? quantMin = null, int? quantMax = null) =>
        new([scale], [zeroPoint], dataType, null, quantMin, quantMax);

    /// <summary>The scales: one, or one per channel.</summary>
    public float[] Scales { get; }

    /// <summary>The zero points, aligned with <see cref="Scales"/>.</summary>
    public int[] ZeroPoints { get; }

    /// <summary>The quantized integer type.</summary>
    public QuantDataType DataType { get; }

    /// <summary>The channel axis, or <c>null</c> for per-tensor parameters.</summary>
    public int? Axis { get; }

    /// <summary>Lowest value quantization saturates to.</summary>
    public int QuantMin { get; }

    /// <summary>Highest value quantization saturates to.</summary>
    public int QuantMax { get; }

    /// <summary>True when there is one scale per channel.</summary>
    public bool IsPerChannel => Axis is not null;

    /// <summary>The single scale of per-tensor parameters.</summary>
    public float Scale => IsPerChannel ? throw new InvalidOperationException("Per-channel parameters have no single scale.") : Scales[0];

    /// <summary>The single zero point of per-tensor parameters.</summary>
    public int ZeroPoint => IsPerChannel ? throw new InvalidOperationException("Per-channel parameters have no single zero point.") : ZeroPoints[0];

    /// <inheritdoc />
    public override string ToString() => IsPerChannel
        ? $"{DataType} per-channel axis {Axis}, {Scales.Length} channels"
        : $"{DataType} scale {Scale:R} zero point {ZeroPoint}";
}
