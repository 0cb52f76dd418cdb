using System.Buffers.Binary;
using System.Globalization;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>The ONNX field that holds a tensor's values when raw_data is not used.</summary>
internal enum TypedField
{
    None,
    FloatData,
    Int32Data,
    StringData,
    Int64Data,
    DoubleData,
    UInt64Data,
}

/// <summary>
/// How ONNX lays out a tensor's data: element sizes per data_type, which typed field each type uses, element and
/// byte counts (with overflow checks), and conversion of typed fields to the raw little-endian form. Follows the
/// comments on TensorProto in ONNX's onnx.proto.
/// </summary>
internal static class TensorLayout
{
    internal const int String = 8;

    /// <summary>Bits per element for a data_type: 0 for STRING, -1 for UNDEFINED or a type ONNX does not define.</summary>
    internal static int BitsPerElement(int dataType) => dataType switch
    {
        1 => 32,   // FLOAT
        2 => 8,    // UINT8
        3 => 8,    // INT8
        4 => 16,   // UINT16
        5 => 16,   // INT16
        6 => 32,   // INT32
        7 => 64,   // INT64
        8 => 0,    // STRING
        9 => 8,    // BOOL, one byte per element
        10 => 16,  // FLOAT16
        11 => 64,  // DOUBLE
        12 => 32,  // UINT32
        13 => 64,  // UINT64
        14 => 64,  // COMPLEX64, two floats
        15 => 128, // COMPLEX128, two doubles
        16 => 16,  // BFLOAT16
        17 or 18 or 19 or 20 => 8, // FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ
        21 or 22 or 23 => 4,       // UINT4, INT4, FLOAT4E2M1: two elements per byte, first in the low nibble
        24 => 8,                   // FLOAT8E8M0
        25 or 26 => 2,             // UINT2, INT2: four elements per byte
        _ => -1,
    };

    /// <summary>True for the data types ONNX defines (UNDEFINED excluded).</summary>
    internal static bool IsKnown(int dataType) => BitsPerElement(dataType) >= 0;

    /// <summary>The ONNX name of a data type, or its number when ONNX defines none.</summary>
    internal static string Name(int dataType) => dataType switch
    {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        16 => "BFLOAT16",
        17 => "FLOAT8E4M3FN",
        18 => "FLOAT8E4M3FNUZ",
        19 => "FLOAT8E5M2",
        20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4",
        22 => "INT4",
        23 => "FLOAT4E2M1",
        24 => "FLOAT8E8M0",
        25 => "UINT2",
        26 => "INT2",
        _ => dataType.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The typed field ONNX stores a data type's values in when raw_data is not used.</summary>
    internal static TypedField FieldFor(int dataType) => dataType switch
    {
        1 or 14 => TypedField.FloatData,
        8 => TypedField.StringData,
        7 => TypedField.Int64Data,
        11 or 15 => TypedField.DoubleData,
        12 or 13 => TypedField.UInt64Data,
        _ when IsKnown(dataType) => TypedField.Int32Data,
        _ => TypedField.None,
    };

    /// <summary>The ONNX name of a typed field.</summary>
    internal static string Name(TypedField field) => field switch
    {
        TypedField.FloatData => "float_data",
        TypedField.Int32Data => "int32_data",
        TypedField.StringData => "string_data",
        TypedField.Int64Data => "int64_data",
        TypedField.DoubleData => "double_data",
        TypedField.UInt64Data => "uint64_data",
        _ => "none",
    };

    /// <summary>How many values a typed field of the tensor holds.</summary>
    internal static int Count(TensorProto tensor, TypedField field) => field switch
    {
        TypedField.FloatData => tensor.FloatData.Count,
        TypedField.Int32Data => tensor.Int32Data.Count,
        TypedField.StringData => tensor.StringData.Count,
        TypedField.Int64Data => tensor.Int64Data.Count,
        TypedField.DoubleData => tensor.DoubleData.Count,
        TypedField.UInt64Data => tensor.Uint64Data.Count,
        _ => 0,
    };

    /// <summary>The typed fields of the tensor that hold at least one value.</summary>
    internal static List<TypedField> NonEmptyTypedFields(TensorProto tensor)
    {
        var fields = new List<TypedField>(1);
        for (var f = TypedField.FloatData; f <= TypedField.UInt64Data; f++)
        {
            if (Count(tensor, f) > 0)
            {
                fields.Add(f);
            }
        }

        return fields;
    }

    /// <summary>True when the tensor's data lives in an external file (data_location is EXTERNAL).</summary>
    internal static bool IsExternal(TensorProto tensor) =>
        tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>
    /// The number of elements the dims describe (1 for a scalar). Returns null and a reason when a dim is negative
    /// or the product overflows a long.
    /// </summary>
    internal static long? TryGetElementCount(IReadOnlyList<long> dims, out string? error)
    {
        long count = 1;
        for (var i = 0; i < dims.Count; i++)
        {
            var d = dims[i];
            if (d < 0)
            {
                error = $"has a negative dimension {d} in dims {FormatDims(dims)}";
                return null;
            }

            if (d != 0 && count > long.MaxValue / d)
            {
                error = $"has dims {FormatDims(dims)} whose element count overflows 64 bits";
                return null;
            }

            count *= d;
        }

        error = null;
        return count;
    }

    /// <summary>
    /// The number of raw bytes <paramref name="elementCount"/> elements of a fixed-size type take (sub-byte types
    /// are packed and rounded up to whole bytes). Null when the type has no raw form (STRING, unknown) or on overflow.
    /// </summary>
    internal static long? RawByteCount(int dataType, long elementCount)
    {
        var bits = BitsPerElement(dataType);
        if (bits <= 0 || elementCount < 0 || elementCount > long.MaxValue / bits)
        {
            return null;
        }

        return (elementCount * bits + 7) / 8;
    }

    /// <summary>
    /// The number of values the data type's typed field must hold for <paramref name="elementCount"/> elements:
    /// two per complex element, one packed byte per int32 entry for 4- and 2-bit types, otherwise one per element.
    /// </summary>
    internal static long? TypedValueCount(int dataType, long elementCount)
    {
        var bits = BitsPerElement(dataType);
        if (bits < 0 || elementCount < 0)
        {
            return null;
        }

        return dataType switch
        {
            14 or 15 => elementCount > long.MaxValue / 2 ? null : elementCount * 2,
            _ when bits is > 0 and < 8 => RawByteCount(dataType, elementCount),
            _ => elementCount,
        };
    }

    /// <summary>A byte or value count for messages; null (overflow) reads as "more than 2^63".</summary>
    internal static string FormatCount(long? count) =>
        count is { } c ? c.ToString(CultureInfo.InvariantCulture) : "more than 2^63";

    /// <summary>Formats dims as [a,b,c], showing at most the first 8.</summary>
    internal static string FormatDims(IReadOnlyList<long> dims)
    {
        var shown = dims.Take(8).Select(d => d.ToString(CultureInfo.InvariantCulture));
        return "[" + string.Join(",", shown) + (dims.Count > 8 ? $",... ({dims.Count} dims)]" : "]");
    }

    /// <summary>
    /// Converts a tensor's typed-field values to ONNX's raw layout (fixed width, little-endian, sub-byte types packed).
    /// The caller has checked that the field matches the data type.
    /// </summary>
    internal static byte[] TypedFieldsToRaw(TensorProto tensor, string modelName)
    {
        var dataType = tensor.DataType;
        var field = FieldFor(dataType);
        var count = Count(tensor, field);
        var bytesPerValue = dataType switch
        {
            1 or 14 or 6 or 12 => 4,           // float values, int32, uint32 from uint64_data
            11 or 15 or 7 or 13 => 8,          // double values, int64, uint64
            4 or 5 or 10 or 16 => 2,           // 16-bit types from int32_data
            _ => 1,                            // 8-bit types and packed sub-byte types from int32_data
        };
        if ((long)count * bytesPerValue > Array.MaxLength)
        {
            throw OnnxFormatException.For(modelName, $"tensor '{tensor.Name}' is too large to convert to raw bytes");
        }

        var raw = new byte[count * bytesPerValue];
        var span = raw.AsSpan();
        for (var i = 0; i < count; i++)
        {
            switch (field)
            {
                case TypedField.FloatData:
                    BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], tensor.FloatData[i]);
                    break;
                case TypedField.DoubleData:
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], tensor.DoubleData[i]);
                    break;
                case TypedField.Int64Data:
                    BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], tensor.Int64Data[i]);
                    break;
                case TypedField.UInt64Data when bytesPerValue == 4:
                    BinaryPrimitives.WriteUInt32LittleEndian(span[(i * 4)..], (uint)tensor.Uint64Data[i]);
                    break;
                case TypedField.UInt64Data:
                    BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], tensor.Uint64Data[i]);
                    break;
                case TypedField.Int32Data when bytesPerValue == 4:
                    BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], tensor.Int32Data[i]);
                    break;
                case TypedField.Int32Data when bytesPerValue == 2:
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)tensor.Int32Data[i]);
                    break;
                case TypedField.Int32Data:
                    span[i] = (byte)tensor.Int32Data[i];
                    break;
                default:
                    throw new InvalidOperationException($"A {Name(dataType)} tensor has no raw byte form.");
            }
        }

        return raw;
    }
}
