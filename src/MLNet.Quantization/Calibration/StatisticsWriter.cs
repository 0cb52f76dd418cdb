using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace MLNet.Quantization.Calibration;

/// <summary>Little-endian, length-prefixed primitives of the statistics file (see docs/scale-out.md).</summary>
internal sealed class StatisticsWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void WriteBytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    public void WriteByte(byte value) => _buffer.Write([value]);

    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteInt32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        _buffer.Write(b);
    }

    public void WriteInt64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        _buffer.Write(b);
    }

    public void WriteSingle(float value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _buffer.Write(b);
    }

    public void WriteDouble(double value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, value);
        _buffer.Write(b);
    }

    /// <summary>An int32 byte count, then UTF-8.</summary>
    public void WriteString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInt32(bytes.Length);
        _buffer.Write(bytes);
    }

    /// <summary>An optional int32: a presence byte, then the value when present.</summary>
    public void WriteOptionalInt32(int? value)
    {
        WriteBool(value.HasValue);
        if (value is { } v)
            WriteInt32(v);
    }

    /// <summary>An int32 count, then the values (or count −1 for null).</summary>
    public void WriteSingles(IReadOnlyList<float>? values)
    {
        WriteInt32(values?.Count ?? -1);
        foreach (float v in values ?? [])
            WriteSingle(v);
    }

    /// <summary>An int32 count, then the values.</summary>
    public void WriteDoubles(ReadOnlySpan<double> values)
    {
        WriteInt32(values.Length);
        foreach (double v in values)
            WriteDouble(v);
    }

    /// <summary>An int32 count, then the values (or count −1 for null).</summary>
    public void WriteInt64s(IReadOnlyList<long>? values)
    {
        WriteInt32(values?.Count ?? -1);
        foreach (long v in values ?? [])
            WriteInt64(v);
    }
}
