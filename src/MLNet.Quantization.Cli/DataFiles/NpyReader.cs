using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>A NumPy array read from <c>.npy</c>: shape and values as float (or as long for integer labels).</summary>
internal sealed record NpyArray(int[] Shape, float[] Floats, long[] Int64s, string DType);

/// <summary>Reads NumPy <c>.npy</c> files (format 1.0–3.0), little-endian float32/float64/int64/int32/uint8, C order.</summary>
internal static partial class NpyReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray Read(string path)
    {
        if (!File.Exists(path))
            throw new CliException($"data file '{path}' does not exist");
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    public static NpyArray Read(Stream stream, string name)
    {
        try
        {
            Span<byte> head = stackalloc byte[8];
            stream.ReadExactly(head);
            if (!head[..6].SequenceEqual(Magic))
                throw new CliException($"'{name}' is not a .npy file (bad magic)");
            int major = head[6];
            int headerLength;
            if (major == 1)
            {
                Span<byte> len = stackalloc byte[2];
                stream.ReadExactly(len);
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len);
            }
            else if (major is 2 or 3)
            {
                Span<byte> len = stackalloc byte[4];
                stream.ReadExactly(len);
                headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(len));
            }
            else
            {
                throw new CliException($"'{name}' uses .npy format {major}, which is not supported");
            }

            if (headerLength > 1 << 20)
                throw new CliException($"'{name}' has an implausible .npy header of {headerLength} bytes");
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            string text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(header);
            string descr = Match(DescrRegex(), text, name, "descr");
            string fortran = Match(FortranRegex(), text, name, "fortran_order");
            string shapeText = Match(ShapeRegex(), text, name, "shape");
            if (fortran == "True")
                throw new CliException($"'{name}' is in Fortran order; save it in C order (np.ascontiguousarray)");
            var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out int d) && d >= 0 ? d : throw new CliException($"'{name}' has an invalid shape ({shapeText})")).ToArray();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            int size = descr switch
            {
                "<f4" => 4, "<f8" => 8, "<i8" => 8, "<i4" => 4, "|u1" or "<u1" => 1,
                _ => throw new CliException($"'{name}' has dtype '{descr}'; supported: float32, float64, int64, int32, uint8 (little-endian)"),
            };
            if (count * size > Array.MaxLength)
                throw new CliException($"'{name}' is too large to load ({count} values)");
            var data = new byte[count * size];
            stream.ReadExactly(data);
            var floats = new float[count];
            var longs = new long[count];
            for (int i = 0; i < count; i++)
            {
                var s = data.AsSpan(i * size, size);
                (floats[i], longs[i]) = descr switch
                {
                    "<f4" => (BinaryPrimitives.ReadSingleLittleEndian(s), (long)BinaryPrimitives.ReadSingleLittleEndian(s)),
                    "<f8" => ((float)BinaryPrimitives.ReadDoubleLittleEndian(s), (long)BinaryPrimitives.ReadDoubleLittleEndian(s)),
                    "<i8" => (BinaryPrimitives.ReadInt64LittleEndian(s), BinaryPrimitives.ReadInt64LittleEndian(s)),
                    "<i4" => (BinaryPrimitives.ReadInt32LittleEndian(s), BinaryPrimitives.ReadInt32LittleEndian(s)),
                    _ => (s[0], s[0]),
                };
            }

            return new NpyArray(shape, floats, longs, descr);
        }
        catch (EndOfStreamException)
        {
            throw new CliException($"'{name}' is truncated");
        }
    }

    private static string Match(Regex regex, string text, string name, string key)
    {
        var m = regex.Match(text);
        if (!m.Success)
            throw new CliException($"'{name}' has a malformed .npy header (no '{key}')");
        return m.Groups[1].Value;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
