using System.Buffers;
using System.Buffers.Binary;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// A NumPy array read from a data file: its shape and its values, either as float (<see cref="Floats"/>) or as long
/// (<see cref="Int64s"/>), whichever the reader was asked for; the other is null.
/// </summary>
internal sealed record NpyArray(int[] Shape, float[]? Floats, long[]? Int64s, string DType);

/// <summary>Which element type to decode a data file's values into.</summary>
internal enum ValueKind
{
    /// <summary>Decode into <see cref="NpyArray.Floats"/>.</summary>
    Float,

    /// <summary>Decode into <see cref="NpyArray.Int64s"/>.</summary>
    Int64,
}

/// <summary>
/// Reads NumPy <c>.npy</c> arrays (format 1.0–3.0), little-endian float32/float64/int64/int32/uint8, C order. The
/// header is checked against the bytes actually there before anything is allocated; values are decoded straight
/// from a small buffer into the one array asked for, and only the first rows wanted are kept.
/// </summary>
internal static class NpyReader
{
    private const int ChunkBytes = 1 << 16;

    /// <summary>Reads the .npy file at <paramref name="path"/>: all rows, or the first <paramref name="maxRows"/>.</summary>
    public static NpyArray Read(string path, ValueKind kind, int maxRows = int.MaxValue)
    {
        if (!File.Exists(path))
            throw new CliException($"data file '{path}' does not exist");
        using var stream = File.OpenRead(path);
        return Read(stream, path, stream.Length, kind, maxRows);
    }

    /// <summary>
    /// Reads a .npy of <paramref name="totalBytes"/> bytes from <paramref name="stream"/>. The data the header declares
    /// must fill exactly the rest: fewer bytes is a truncated file, more is trailing bytes; both are errors naming
    /// <paramref name="name"/>. Rows past <paramref name="maxRows"/> are read through (a zip entry's CRC needs them) but not kept.
    /// </summary>
    public static NpyArray Read(Stream stream, string name, long totalBytes, ValueKind kind, int maxRows = int.MaxValue)
    {
        try
        {
            var header = NpyHeader.Read(stream, name);
            long available = totalBytes - header.HeaderBytes;
            if (header.DataBytes > available)
                throw new CliException($"'{name}' is truncated: its header declares {header.DataBytes} bytes of data ({header.Count} values), the file holds {Math.Max(0, available)}");
            if (header.DataBytes < available)
                throw new CliException($"'{name}' has {available - header.DataBytes} trailing byte(s) after its array data");
            int[] shape = [.. header.Shape];
            long keep = header.Count;
            if (shape.Length > 0 && shape[0] > maxRows)
            {
                keep = header.Count / shape[0] * maxRows;
                shape[0] = maxRows;
            }

            var floats = kind == ValueKind.Float ? new float[keep] : null;
            var longs = kind == ValueKind.Int64 ? new long[keep] : null;
            Decode(stream, header, keep, floats, longs);
            if (stream.ReadByte() >= 0)
                throw new CliException($"'{name}' has trailing bytes after its array data");
            return new NpyArray(shape, floats, longs, header.DType);
        }
        catch (EndOfStreamException)
        {
            throw new CliException($"'{name}' is truncated");
        }
    }

    /// <summary>Decodes the header's values chunk by chunk, keeping the first <paramref name="keep"/> and reading through the rest.</summary>
    private static void Decode(Stream stream, NpyHeader header, long keep, float[]? floats, long[]? longs)
    {
        int size = header.ElementSize;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            long index = 0;
            long remaining = header.DataBytes;
            while (remaining > 0)
            {
                int n = (int)Math.Min(remaining, ChunkBytes / size * size);
                stream.ReadExactly(buffer, 0, n);
                remaining -= n;
                for (int offset = 0; offset < n && index < keep; offset += size, index++)
                {
                    var s = buffer.AsSpan(offset, size);
                    if (floats is not null)
                        floats[index] = ToFloat(header.DType, s);
                    else
                        longs![index] = ToInt64(header.DType, s);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static float ToFloat(string dtype, ReadOnlySpan<byte> s) => dtype switch
    {
        "<f4" => BinaryPrimitives.ReadSingleLittleEndian(s),
        "<f8" => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
        "<i8" => BinaryPrimitives.ReadInt64LittleEndian(s),
        "<i4" => BinaryPrimitives.ReadInt32LittleEndian(s),
        _ => s[0],
    };

    internal static long ToInt64(string dtype, ReadOnlySpan<byte> s) => dtype switch
    {
        "<f4" => (long)BinaryPrimitives.ReadSingleLittleEndian(s),
        "<f8" => (long)BinaryPrimitives.ReadDoubleLittleEndian(s),
        "<i8" => BinaryPrimitives.ReadInt64LittleEndian(s),
        "<i4" => BinaryPrimitives.ReadInt32LittleEndian(s),
        _ => s[0],
    };
}
