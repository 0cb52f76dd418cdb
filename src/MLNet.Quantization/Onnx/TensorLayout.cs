using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>Byte sizes and element counts of ONNX tensors.</summary>
internal static class TensorLayout
{
    /// <summary>Bytes per element of an ONNX data type in raw_data; 0 for STRING; -1 for unknown; 4-bit types return 0 with <paramref name="packedNibbles"/>.</summary>
    public static int ElementSize(int dataType, out bool packedNibbles)
    {
        packedNibbles = false;
        switch ((TensorProto.Types.DataType)dataType)
        {
            case TensorProto.Types.DataType.Float:
            case TensorProto.Types.DataType.Int32:
            case TensorProto.Types.DataType.Uint32:
                return 4;
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Int8:
            case TensorProto.Types.DataType.Bool:
            case TensorProto.Types.DataType.Float8E4M3Fn:
            case TensorProto.Types.DataType.Float8E4M3Fnuz:
            case TensorProto.Types.DataType.Float8E5M2:
            case TensorProto.Types.DataType.Float8E5M2Fnuz:
                return 1;
            case TensorProto.Types.DataType.Uint16:
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Float16:
            case TensorProto.Types.DataType.Bfloat16:
                return 2;
            case TensorProto.Types.DataType.Int64:
            case TensorProto.Types.DataType.Uint64:
            case TensorProto.Types.DataType.Double:
            case TensorProto.Types.DataType.Complex64:
                return 8;
            case TensorProto.Types.DataType.Complex128:
                return 16;
            case TensorProto.Types.DataType.Uint4:
            case TensorProto.Types.DataType.Int4:
            case TensorProto.Types.DataType.Float4E2M1:
                packedNibbles = true;
                return 0;
            case TensorProto.Types.DataType.String:
                return 0;
            default:
                return -1;
        }
    }

    /// <summary>The element count from dims, or null when a dim is negative or the product overflows.</summary>
    public static long? ElementCount(IReadOnlyList<long> dims)
    {
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                return null;
            try
            {
                count = checked(count * d);
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        return count;
    }

    /// <summary>The raw_data byte length of <paramref name="count"/> elements, or null when it cannot be represented.</summary>
    public static long? RawByteLength(int dataType, long count)
    {
        int size = ElementSize(dataType, out bool nibbles);
        if (nibbles)
            return (count + 1) / 2;
        if (size <= 0)
            return null;
        try
        {
            return checked(count * size);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>How many entries of the typed field a tensor of <paramref name="count"/> elements has (ONNX storage rules).</summary>
    public static (string Field, long Count) TypedFieldCount(TensorProto t, long count)
    {
        var dt = (TensorProto.Types.DataType)t.DataType;
        return dt switch
        {
            TensorProto.Types.DataType.Float => ("float_data", t.FloatData.Count),
            TensorProto.Types.DataType.Complex64 => ("float_data", t.FloatData.Count / 2),
            TensorProto.Types.DataType.Int64 => ("int64_data", t.Int64Data.Count),
            TensorProto.Types.DataType.Double => ("double_data", t.DoubleData.Count),
            TensorProto.Types.DataType.Complex128 => ("double_data", t.DoubleData.Count / 2),
            TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => ("uint64_data", t.Uint64Data.Count),
            TensorProto.Types.DataType.String => ("string_data", t.StringData.Count),
            TensorProto.Types.DataType.Uint4 or TensorProto.Types.DataType.Int4 or TensorProto.Types.DataType.Float4E2M1
                => ("int32_data", t.Int32Data.Count * 2L >= count && t.Int32Data.Count == (count + 1) / 2 ? count : t.Int32Data.Count * 2L),
            _ => ("int32_data", t.Int32Data.Count),
        };
    }
}
