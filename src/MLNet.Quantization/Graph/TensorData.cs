using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Graph;

/// <summary>
/// A constant tensor (an initializer or a <c>Constant</c> node's value) with its element type and dims. It wraps the
/// ONNX message, so fields this library does not interpret survive; data is read from raw_data, the typed fields
/// ONNX defines, or external data.
/// </summary>
public sealed class TensorData
{
    private readonly OnnxModel? _owner;

    internal TensorData(TensorProto proto, OnnxModel? owner)
    {
        Proto = proto;
        _owner = owner;
    }

    internal TensorProto Proto { get; }

    /// <summary>The tensor's name.</summary>
    public string Name => Proto.Name;

    /// <summary>The element type.</summary>
    public TensorElementType ElementType => (TensorElementType)Proto.DataType;

    /// <summary>The dims; empty for a scalar.</summary>
    public IReadOnlyList<long> Dims => Proto.Dims;

    /// <summary>The number of elements.</summary>
    public long ElementCount => TensorLayout.TryGetElementCount(Proto.Dims, out _) ?? throw new OnnxGraphException($"Tensor '{Name}' has invalid dims.");

    /// <summary>The dims as ints, for kernels that take <c>int</c> shapes.</summary>
    public int[] Shape => Proto.Dims.Select(d => checked((int)d)).ToArray();

    /// <summary>The data as little-endian bytes.</summary>
    internal ReadOnlyMemory<byte> RawBytes()
    {
        if (_owner is not null)
            return _owner.GetRawData(Proto); // raw_data, typed fields or external data, length-checked
        if (TensorLayout.IsExternal(Proto))
            throw new OnnxGraphException($"Tensor '{Name}' uses external data but no model folder is known to read it from.");
        var raw = Proto.HasRawData ? Proto.RawData.Memory : TensorLayout.TypedFieldsToRaw(Proto, Name);
        long? expected = TensorLayout.RawByteCount(Proto.DataType, ElementCount);
        if (expected is null || raw.Length != expected)
            throw new OnnxGraphException($"Tensor '{Name}' holds {raw.Length} bytes but {ElementType}[{string.Join(", ", Dims)}] needs {expected}.");
        return raw;
    }

    /// <summary>The values converted to float (from float, double, float16, bfloat16 or any integer type).</summary>
    public float[] ToFloatArray()
    {
        var raw = RawBytes().Span;
        int n = checked((int)ElementCount);
        var result = new float[n];
        switch (ElementType)
        {
            case TensorElementType.Float:
                MemoryMarshal.Cast<byte, float>(raw).CopyTo(result);
                break;
            case TensorElementType.Double:
                for (int i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]);
                break;
            case TensorElementType.Float16:
                for (int i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]);
                break;
            case TensorElementType.BFloat16:
                for (int i = 0; i < n; i++) result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16);
                break;
            default:
                var longs = ToInt64Array();
                for (int i = 0; i < n; i++) result[i] = longs[i];
                break;
        }

        return result;
    }

    /// <summary>The values converted to long (from any integer or bool type).</summary>
    public long[] ToInt64Array()
    {
        var raw = RawBytes().Span;
        int n = checked((int)ElementCount);
        var result = new long[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = ElementType switch
            {
                TensorElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                TensorElementType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                TensorElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                TensorElementType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
                TensorElementType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                TensorElementType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                TensorElementType.Int8 => (sbyte)raw[i],
                TensorElementType.UInt8 or TensorElementType.Bool => raw[i],
                TensorElementType.Float => (long)BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                TensorElementType.Double => (long)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                _ => throw new OnnxGraphException($"Tensor '{Name}' of type {ElementType} cannot be read as integers."),
            };
        }

        return result;
    }

    /// <summary>The values as <typeparamref name="T"/>, which must match the element type exactly (e.g. sbyte for Int8).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var expected = ElementTypeOf<T>();
        if (expected != ElementType && !(typeof(T) == typeof(bool) && ElementType == TensorElementType.Bool))
            throw new OnnxGraphException($"Tensor '{Name}' holds {ElementType}, not {typeof(T).Name}.");
        return MemoryMarshal.Cast<byte, T>(RawBytes().Span).ToArray();
    }

    /// <summary>A float tensor.</summary>
    public static TensorData FromFloats(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> data) => Create(name, dims, data, TensorElementType.Float);

    /// <summary>A double tensor.</summary>
    public static TensorData FromDoubles(string name, ReadOnlySpan<long> dims, ReadOnlySpan<double> data) => Create(name, dims, data, TensorElementType.Double);

    /// <summary>An int8 tensor.</summary>
    public static TensorData FromInt8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<sbyte> data) => Create(name, dims, data, TensorElementType.Int8);

    /// <summary>A uint8 tensor.</summary>
    public static TensorData FromUInt8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<byte> data) => Create(name, dims, data, TensorElementType.UInt8);

    /// <summary>An int16 tensor.</summary>
    public static TensorData FromInt16(string name, ReadOnlySpan<long> dims, ReadOnlySpan<short> data) => Create(name, dims, data, TensorElementType.Int16);

    /// <summary>A uint16 tensor.</summary>
    public static TensorData FromUInt16(string name, ReadOnlySpan<long> dims, ReadOnlySpan<ushort> data) => Create(name, dims, data, TensorElementType.UInt16);

    /// <summary>An int32 tensor.</summary>
    public static TensorData FromInt32(string name, ReadOnlySpan<long> dims, ReadOnlySpan<int> data) => Create(name, dims, data, TensorElementType.Int32);

    /// <summary>An int64 tensor.</summary>
    public static TensorData FromInt64(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> data) => Create(name, dims, data, TensorElementType.Int64);

    /// <summary>A float16 tensor.</summary>
    public static TensorData FromFloat16(string name, ReadOnlySpan<long> dims, ReadOnlySpan<Half> data) => Create(name, dims, data, TensorElementType.Float16);

    /// <summary>A quantized-integer tensor of the element type matching <typeparamref name="T"/>.</summary>
    public static TensorData FromValues<T>(string name, ReadOnlySpan<long> dims, ReadOnlySpan<T> data) where T : unmanaged, INumberBase<T> =>
        Create(name, dims, data, ElementTypeOf<T>());

    private static TensorData Create<T>(string name, ReadOnlySpan<long> dims, ReadOnlySpan<T> data, TensorElementType type) where T : unmanaged
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        long count = TensorLayout.TryGetElementCount(dims.ToArray(), out _) ?? throw new ArgumentException($"Tensor '{name}' has invalid dims.", nameof(dims));
        if (count != data.Length)
            throw new ArgumentException($"Tensor '{name}' has dims [{string.Join(", ", dims.ToArray())}] ({count} values) but {data.Length} values were given.", nameof(data));
        var proto = new TensorProto { Name = name, DataType = (int)type };
        proto.Dims.AddRange(dims.ToArray());
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        return new TensorData(proto, null);
    }

    internal static TensorElementType ElementTypeOf<T>() => typeof(T) switch
    {
        var t when t == typeof(float) => TensorElementType.Float,
        var t when t == typeof(double) => TensorElementType.Double,
        var t when t == typeof(sbyte) => TensorElementType.Int8,
        var t when t == typeof(byte) => TensorElementType.UInt8,
        var t when t == typeof(short) => TensorElementType.Int16,
        var t when t == typeof(ushort) => TensorElementType.UInt16,
        var t when t == typeof(int) => TensorElementType.Int32,
        var t when t == typeof(uint) => TensorElementType.UInt32,
        var t when t == typeof(long) => TensorElementType.Int64,
        var t when t == typeof(ulong) => TensorElementType.UInt64,
        var t when t == typeof(Half) => TensorElementType.Float16,
        var t when t == typeof(bool) => TensorElementType.Bool,
        _ => throw new NotSupportedException($"No ONNX element type for {typeof(T).Name}."),
    };

    /// <summary>A copy under another name.</summary>
    public TensorData WithName(string name)
    {
        var copy = Proto.Clone();
        copy.Name = name;
        return new TensorData(copy, _owner);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {ElementType}[{string.Join(", ", Dims)}]";
}
