using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNet.Quantization.Samples;

/// <summary>Reads IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.</summary>
public static class IdxReader
{
    /// <summary>Reads an IDX file of unsigned bytes; returns the dims and the values.</summary>
    /// <exception cref="InvalidDataException">The file is not an unsigned-byte IDX file or is truncated; the message names it.</exception>
    public static (int[] Dims, byte[] Data) ReadBytes(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            Span<byte> header = stackalloc byte[4];
            stream.ReadExactly(header);
            if (header[0] != 0 || header[1] != 0 || header[2] != 0x08)
                throw new InvalidDataException($"'{path}' is not an unsigned-byte IDX file (magic {header[0]:X2}{header[1]:X2}{header[2]:X2}{header[3]:X2}).");
            int rank = header[3];
            if (rank is < 1 or > 4)
                throw new InvalidDataException($"'{path}' declares rank {rank}; IDX data here has rank 1 to 4.");
            var dims = new int[rank];
            long count = 1;
            for (int i = 0; i < rank; i++)
            {
                stream.ReadExactly(header);
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(header);
                if (dims[i] < 0)
                    throw new InvalidDataException($"'{path}' has a negative dimension.");
                count *= dims[i];
            }

            if (count > Array.MaxLength)
                throw new InvalidDataException($"'{path}' declares {count} values, too many to load.");
            var data = new byte[count];
            stream.ReadExactly(data);
            return (dims, data);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"'{path}' is truncated.", e);
        }
    }
}
