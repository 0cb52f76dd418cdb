using System.Buffers.Binary;
using System.Text;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// Reads what <see cref="StatisticsWriter"/> wrote, from bytes already in memory. Every declared count is checked
/// against the bytes that remain before anything is allocated, and every failure is an
/// <see cref="InvalidDataException"/> naming the file and the byte offset.
/// </summary>
internal sealed class StatisticsReader
{
    /// <summary>The longest tensor name or text field accepted, in bytes.</summary>
    public const int MaxStringBytes = 1 << 16;

    private readonly byte[] _data;
    private readonly int _end;

    public StatisticsReader(byte[] data, int end, string source)
    {
        _data = data;
        _end = end;
        Source = source;
    }

    /// <summary>The file (or stream) name used in messages.</summary>
    public string Source { get; }

    public int Position { get; private set; }

    public int Remaining => _end - Position;

    /// <summary>An error naming the file and where in it.</summary>
    public InvalidDataException Error(string reason) => new($"Statistics file '{Source}': {reason} (at byte {Position}).");

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > Remaining)
            throw Error($"truncated: {count} more bytes expected, {Remaining} left");
        var span = _data.AsSpan(Position, count);
        Position += count;
        return span;
    }

    public byte ReadByte() => ReadBytes(1)[0];

    public bool ReadBool() => ReadByte() switch
    {
        0 => false,
        1 => true,
        var b => throw Error($"a flag holds {b}, not 0 or 1"),
    };

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8));

    public float ReadSingle() => BinaryPrimitives.ReadSingleLittleEndian(ReadBytes(4));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(ReadBytes(8));

    public string ReadString()
    {
        int length = ReadInt32();
        if (length < 0 || length > MaxStringBytes)
            throw Error($"a text field declares {length} bytes (at most {MaxStringBytes})");
        try
        {
            return new UTF8Encoding(false, true).GetString(ReadBytes(length));
        }
        catch (DecoderFallbackException)
        {
            throw Error("a text field is not valid UTF-8");
        }
    }

    public int? ReadOptionalInt32() => ReadBool() ? ReadInt32() : null;

    /// <summary>A count of elements of <paramref name="elementBytes"/> each, checked against the bytes left; −1 (null) when <paramref name="nullable"/>.</summary>
    public int ReadCount(int elementBytes, string what, bool nullable = false)
    {
        int count = ReadInt32();
        if (nullable && count == -1)
            return -1;
        if (count < 0 || (long)count * elementBytes > Remaining)
            throw Error($"{what} declares {count} entries, but only {Remaining} bytes are left");
        return count;
    }

    /// <summary>Float32 values, or null for a count of −1.</summary>
    public float[]? ReadSingles(string what)
    {
        int count = ReadCount(4, what, nullable: true);
        if (count < 0)
            return null;
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = ReadSingle();
        return values;
    }

    public double[] ReadDoubles(string what)
    {
        int count = ReadCount(8, what);
        var values = new double[count];
        for (int i = 0; i < count; i++)
            values[i] = ReadDouble();
        return values;
    }

    /// <summary>Int64 values, or null for a count of −1.</summary>
    public long[]? ReadInt64s(string what)
    {
        int count = ReadCount(8, what, nullable: true);
        if (count < 0)
            return null;
        var values = new long[count];
        for (int i = 0; i < count; i++)
            values[i] = ReadInt64();
        return values;
    }

    /// <summary>A range that is either empty (+Inf, −Inf) or finite with min ≤ max.</summary>
    public (float Min, float Max) ReadRange(string what)
    {
        float min = ReadSingle(), max = ReadSingle();
        if (min == float.PositiveInfinity && max == float.NegativeInfinity)
            return (min, max);
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw Error($"{what} range [{min}, {max}] is neither empty nor finite with min ≤ max");
        return (min, max);
    }

    /// <summary>Histogram counts: finite and non-negative.</summary>
    public double[] ReadCounts(string what)
    {
        var counts = ReadDoubles(what);
        foreach (double c in counts)
        {
            if (!double.IsFinite(c) || c < 0)
                throw Error($"{what} holds the count {c}; counts are finite and non-negative");
        }

        return counts;
    }
}
