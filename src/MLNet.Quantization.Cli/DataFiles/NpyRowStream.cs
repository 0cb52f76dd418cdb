using System.Buffers;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// Reads a NumPy <c>.npy</c> array a few rows at a time, so that calibration holds one batch of a large data file and
/// not all of it. The header is checked against the bytes there before any row is read, as <see cref="NpyReader"/> does.
/// </summary>
internal sealed class NpyRowStream : IRowStream
{
    private const int ChunkBytes = 1 << 16;
    private readonly Stream _stream;
    private readonly IDisposable? _owner;
    private readonly NpyHeader _header;
    private readonly string _name;
    private readonly ValueKind _kind;
    private readonly long _rowElements;
    private long _bytesRead;

    private NpyRowStream(Stream stream, IDisposable? owner, NpyHeader header, string name, ValueKind kind)
    {
        _stream = stream;
        _owner = owner;
        _header = header;
        _name = name;
        _kind = kind;
        Shape = [.. header.Shape];
        _rowElements = Shape.Length == 0 ? 1 : Shape.Skip(1).Aggregate(1L, (a, b) => checked(a * b));
    }

    /// <summary>The array's shape as the file declares it (rows first).</summary>
    public int[] Shape { get; }

    /// <summary>Opens a .npy of <paramref name="totalBytes"/> bytes; <paramref name="owner"/> (an archive) is disposed with it.</summary>
    /// <exception cref="CliException">The header is malformed, or the data is truncated or has trailing bytes; the message names <paramref name="name"/>.</exception>
    public static NpyRowStream Open(Stream stream, string name, long totalBytes, ValueKind kind, IDisposable? owner = null)
    {
        try
        {
            var header = NpyHeader.Read(stream, name);
            long available = totalBytes - header.HeaderBytes;
            if (header.DataBytes > available)
                throw new CliException($"'{name}' is truncated: its header declares {header.DataBytes} bytes of data ({header.Count} values), the file holds {Math.Max(0, available)}");
            if (header.DataBytes < available)
                throw new CliException($"'{name}' has {available - header.DataBytes} trailing byte(s) after its array data");
            return new NpyRowStream(stream, owner, header, name, kind);
        }
        catch (EndOfStreamException)
        {
            throw new CliException($"'{name}' is truncated");
        }
    }

    /// <summary>Decodes the next <paramref name="rows"/> rows (shape [rows, ...]) as floats or int64s, as opened.</summary>
    public NpyArray ReadRows(int rows)
    {
        long count = checked(rows * _rowElements);
        var floats = _kind == ValueKind.Float ? new float[count] : null;
        var longs = _kind == ValueKind.Int64 ? new long[count] : null;
        int size = _header.ElementSize;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            long index = 0;
            while (index < count)
            {
                int n = (int)Math.Min((count - index) * size, ChunkBytes / size * size);
                ReadExactly(buffer, n);
                for (int offset = 0; offset < n; offset += size, index++)
                {
                    var s = buffer.AsSpan(offset, size);
                    if (floats is not null)
                        floats[index] = NpyReader.ToFloat(_header.DType, s);
                    else
                        longs![index] = NpyReader.ToInt64(_header.DType, s);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new NpyArray([rows, .. Shape.Skip(1)], floats, longs, _header.DType);
    }

    /// <summary>Reads through the rest of the data, so that a zip entry's CRC-32 is checked, and checks nothing follows it.</summary>
    public void ReadToEnd()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            while (_bytesRead < _header.DataBytes)
                ReadExactly(buffer, (int)Math.Min(ChunkBytes, _header.DataBytes - _bytesRead));
            if (_stream.ReadByte() >= 0)
                throw new CliException($"'{_name}' has trailing bytes after its array data");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _owner?.Dispose();
    }

    private void ReadExactly(byte[] buffer, int n)
    {
        try
        {
            _stream.ReadExactly(buffer, 0, n);
        }
        catch (EndOfStreamException)
        {
            throw new CliException($"'{_name}' is truncated");
        }

        _bytesRead += n;
    }
}
