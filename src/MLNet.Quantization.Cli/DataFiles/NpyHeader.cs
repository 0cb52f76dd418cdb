using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// The header of a NumPy <c>.npy</c> array: dtype, shape, and the sizes they imply, all computed with checked
/// arithmetic. The header dict is parsed as the Python literal it is, with exactly the keys <c>descr</c>,
/// <c>fortran_order</c> and <c>shape</c>, each once.
/// </summary>
internal sealed record NpyHeader(string DType, int[] Shape, long Count, int ElementSize, int HeaderBytes)
{
    /// <summary>The largest header accepted (NumPy writes well under 1 KB).</summary>
    public const int MaxHeaderLength = 1 << 20;

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Bytes of array data the header declares.</summary>
    public long DataBytes => Count * ElementSize;

    /// <summary>Whether the values are integers (read as <see cref="long"/> without loss).</summary>
    public bool IsInteger => DType is "<i8" or "<i4" or "|u1" or "<u1";

    /// <summary>Reads and checks the header at the start of <paramref name="stream"/>; <paramref name="name"/> names the file in errors.</summary>
    /// <exception cref="CliException">Not a .npy, an unsupported version or dtype, a malformed or ambiguous header, or an array too large to hold.</exception>
    /// <exception cref="EndOfStreamException">The stream ends inside the header.</exception>
    public static NpyHeader Read(Stream stream, string name)
    {
        Span<byte> head = stackalloc byte[8];
        stream.ReadExactly(head);
        if (!head[..6].SequenceEqual(Magic))
            throw new CliException($"'{name}' is not a .npy file (bad magic)");
        int major = head[6];
        uint length;
        Span<byte> len = stackalloc byte[4];
        if (major == 1)
        {
            stream.ReadExactly(len[..2]);
            length = BinaryPrimitives.ReadUInt16LittleEndian(len);
        }
        else if (major is 2 or 3)
        {
            stream.ReadExactly(len);
            length = BinaryPrimitives.ReadUInt32LittleEndian(len);
        }
        else
        {
            throw new CliException($"'{name}' uses .npy format {major}, which is not supported");
        }

        if (length > MaxHeaderLength)
            throw new CliException($"'{name}' has an implausible .npy header of {length} bytes (at most {MaxHeaderLength})");
        var header = new byte[length];
        stream.ReadExactly(header);
        string text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(header);
        var dict = new NpyHeaderParser(text, name).Parse();
        string descr = dict.Descr;
        if (dict.FortranOrder)
            throw new CliException($"'{name}' is in Fortran order; save it in C order (np.ascontiguousarray)");
        int size = descr switch
        {
            "<f4" => 4, "<f8" => 8, "<i8" => 8, "<i4" => 4, "|u1" or "<u1" => 1,
            _ => throw new CliException($"'{name}' has dtype '{descr}'; supported: float32, float64, int64, int32, uint8 (little-endian)"),
        };
        long count = 1;
        foreach (int d in dict.Shape)
        {
            if (d != 0 && count > Array.MaxLength / d)
                throw new CliException($"'{name}' declares shape ({string.Join(", ", dict.Shape)}), more than {Array.MaxLength} values; too large to load");
            count *= d;
        }

        return new NpyHeader(descr == "<u1" ? "|u1" : descr, dict.Shape, count, size, checked(head.Length + (major == 1 ? 2 : 4) + (int)length));
    }
}

/// <summary>The three keys of a .npy header dict.</summary>
internal sealed record NpyHeaderDict(string Descr, bool FortranOrder, int[] Shape);

/// <summary>
/// Parses a .npy header: a Python dict literal such as <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c>
/// followed by spaces and a newline. Unknown, missing or repeated keys are errors naming the file.
/// </summary>
internal sealed class NpyHeaderParser(string text, string name)
{
    private int _pos;

    /// <summary>The parsed dict.</summary>
    /// <exception cref="CliException">The text is not such a dict.</exception>
    public NpyHeaderDict Parse()
    {
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        Expect('{');
        while (true)
        {
            SkipSpace();
            if (Peek() == '}')
                break;
            string key = ReadString();
            Expect(':');
            switch (key)
            {
                case "descr" when descr is null:
                    descr = ReadString();
                    break;
                case "fortran_order" when fortran is null:
                    fortran = ReadBool();
                    break;
                case "shape" when shape is null:
                    shape = ReadShape();
                    break;
                case "descr" or "fortran_order" or "shape":
                    throw Fail($"key '{key}' appears twice");
                default:
                    throw Fail($"unknown key '{key}' (expected 'descr', 'fortran_order', 'shape')");
            }

            SkipSpace();
            if (Peek() == ',')
                _pos++;
            else if (Peek() != '}')
                throw Fail($"expected ',' or '}}' at offset {_pos}");
        }

        _pos++;
        if (text.AsSpan(_pos).TrimEnd([' ', '\n', '\0']).Length != 0)
            throw Fail("text after the closing '}'");
        return new NpyHeaderDict(
            descr ?? throw Fail("no 'descr'"),
            fortran ?? throw Fail("no 'fortran_order'"),
            shape ?? throw Fail("no 'shape'"));
    }

    private char Peek() => _pos < text.Length ? text[_pos] : '\0';

    private void SkipSpace()
    {
        while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\n' or '\r')
            _pos++;
    }

    private void Expect(char c)
    {
        SkipSpace();
        if (Peek() != c)
            throw Fail($"expected '{c}' at offset {_pos}");
        _pos++;
    }

    private string ReadString()
    {
        SkipSpace();
        char quote = Peek();
        if (quote is not ('\'' or '"'))
            throw Fail($"expected a quoted string at offset {_pos}");
        int end = text.IndexOf(quote, _pos + 1);
        if (end < 0)
            throw Fail("unterminated string");
        string value = text[(_pos + 1)..end];
        _pos = end + 1;
        return value;
    }

    private bool ReadBool()
    {
        SkipSpace();
        foreach (var (word, value) in new[] { ("True", true), ("False", false) })
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) == 0)
            {
                _pos += word.Length;
                return value;
            }
        }

        throw Fail($"'fortran_order' must be True or False (offset {_pos})");
    }

    private int[] ReadShape()
    {
        Expect('(');
        var dims = new List<int>();
        while (true)
        {
            SkipSpace();
            if (Peek() == ')')
                break;
            int start = _pos;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                _pos++;
            if (!int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                throw Fail($"invalid shape dimension '{text[start..Math.Min(text.Length, _pos + 1)]}' (a whole number up to {int.MaxValue})");
            dims.Add(d);
            SkipSpace();
            if (Peek() == ',')
                _pos++;
            else if (Peek() != ')')
                throw Fail($"expected ',' or ')' in 'shape' at offset {_pos}");
        }

        _pos++;
        return [.. dims];
    }

    private CliException Fail(string what) => new($"'{name}' has a malformed .npy header: {what}");
}
