namespace MLNet.Quantization.Numerics;

/// <summary>Ranges of <see cref="QuantDataType"/>.</summary>
public static class QuantDataTypeExtensions
{
    /// <summary>The full representable range of the type.</summary>
    public static (int Min, int Max) FullRange(this QuantDataType type) => type switch
    {
        QuantDataType.UInt8 => (byte.MinValue, byte.MaxValue),
        QuantDataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        QuantDataType.UInt16 => (ushort.MinValue, ushort.MaxValue),
        QuantDataType.Int16 => (short.MinValue, short.MaxValue),
        QuantDataType.Int32 => (int.MinValue, int.MaxValue),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantized type."),
    };

    /// <summary>True for the unsigned types.</summary>
    public static bool IsUnsigned(this QuantDataType type) => type is QuantDataType.UInt8 or QuantDataType.UInt16;
}
