using System.Buffers.Binary;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>A tensor's data as little-endian raw bytes, from raw_data or from the typed fields ONNX defines.</summary>
internal static class TensorBytes
{
    /// <summary>Encodes the typed fields of an inline tensor as raw little-endian bytes.</summary>
    public static byte[] FromTypedFields(TensorProto t)
    {
        long count = TensorLayout.ElementCount(t.Dims) ?? throw new InvalidOperationException($"Tensor '{t.Name}' has invalid dims.");
        long? length = TensorLayout.RawByteLength(t.DataType, count);
        if (length is null || length > Array.MaxLength)
            throw new InvalidOperationException($"Tensor '{t.Name}' of type {t.DataType} cannot be expressed as raw bytes.");
        var bytes = new byte[length.Value];
        var span = bytes.AsSpan();
        switch ((TensorProto.Types.DataType)t.DataType)
        {
            case TensorProto.Types.DataType.Float:
            case TensorProto.Types.DataType.Complex64:
                for (int i = 0; i < t.FloatData.Count; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], t.FloatData[i]);
                break;
            case TensorProto.Types.DataType.Double:
            case TensorProto.Types.DataType.Complex128:
                for (int i = 0; i < t.DoubleData.Count; i++)
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], t.DoubleData[i]);
                break;
            case TensorProto.Types.DataType.Int64:
                for (int i = 0; i < t.Int64Data.Count; i++)
                    BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], t.Int64Data[i]);
                break;
            case TensorProto.Types.DataType.Uint64:
                for (int i = 0; i < t.Uint64Data.Count; i++)
                    BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], t.Uint64Data[i]);
                break;
            case TensorProto.Types.DataType.Uint32:
                for (int i = 0; i < t.Uint64Data.Count; i++)
                    BinaryPrimitives.WriteUInt32LittleEndian(span[(i * 4)..], (uint)t.Uint64Data[i]);
                break;
            case TensorProto.Types.DataType.Int32:
                for (int i = 0; i < t.Int32Data.Count; i++)
                    BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], t.Int32Data[i]);
                break;
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Uint16:
            case TensorProto.Types.DataType.Float16:
            case TensorProto.Types.DataType.Bfloat16:
                for (int i = 0; i < t.Int32Data.Count; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)t.Int32Data[i]);
                break;
            case TensorProto.Types.DataType.Int4:
            case TensorProto.Types.DataType.Uint4:
            case TensorProto.Types.DataType.Float4E2M1:
                for (int i = 0; i < t.Int32Data.Count; i++)
                    span[i] = (byte)t.Int32Data[i];
                break;
            default: // one byte per element: int8, uint8, bool, float8 types
                for (int i = 0; i < t.Int32Data.Count; i++)
                    span[i] = (byte)t.Int32Data[i];
                break;
        }

        return bytes;
    }
}
