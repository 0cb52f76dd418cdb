using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// A tensor quantized with a fixed scale and zero point, whatever values it takes; PyTorch's
/// <c>FixedQParamsQuantizationSpec</c>. Typical for ops with a known output range, e.g. Sigmoid with scale 1/256 and
/// zero point 0 on uint8.
/// </summary>
public sealed record FixedQParamsQuantizationSpec : QuantizationSpecBase
{
    /// <summary>Creates a fixed spec, validating it.</summary>
    /// <param name="dataType">The quantized type.</param>
    /// <param name="scale">The scale; finite and positive.</param>
    /// <param name="zeroPoint">The zero point; inside the quantized range.</param>
    /// <param name="quantMin">A custom lowest quantized value; give both bounds or neither.</param>
    /// <param name="quantMax">A custom highest quantized value; give both bounds or neither.</param>
    /// <exception cref="ArgumentException">The settings are inconsistent.</exception>
    public FixedQParamsQuantizationSpec(QuantDataType dataType, float scale, int zeroPoint, int? quantMin = null, int? quantMax = null)
    {
        DataType = dataType;
        Scale = scale;
        ZeroPoint = zeroPoint;
        QuantMin = quantMin;
        QuantMax = quantMax;
        Validate();
    }

    /// <summary>The quantized type.</summary>
    public QuantDataType DataType { get; init; }

    /// <summary>The fixed scale.</summary>
    public float Scale { get; init; }

    /// <summary>The fixed zero point.</summary>
    public int ZeroPoint { get; init; }

    /// <summary>A custom lowest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMin { get; init; }

    /// <summary>A custom highest quantized value, or <c>null</c> for the type's range.</summary>
    public int? QuantMax { get; init; }

    /// <summary>The per-tensor parameters this spec fixes.</summary>
    public QParams ToQParams()
    {
        Validate();
        return QParams.PerTensor(Scale, ZeroPoint, DataType, QuantMin, QuantMax);
    }

    /// <inheritdoc />
    public override void Validate()
    {
        ValidateRange(DataType, QuantMin, QuantMax, nameof(FixedQParamsQuantizationSpec));
        if (!float.IsFinite(Scale) || Scale <= 0f)
            throw new ArgumentException($"{nameof(FixedQParamsQuantizationSpec)}: scale is {Scale}; it must be finite and positive.");
        var (typeMin, typeMax) = DataType.FullRange();
        int min = QuantMin ?? typeMin, max = QuantMax ?? typeMax;
        if (ZeroPoint < min || ZeroPoint > max)
            throw new ArgumentException($"{nameof(FixedQParamsQuantizationSpec)}: zero point {ZeroPoint} is outside the quantized range [{min}, {max}] of {DataType}.");
    }
}
