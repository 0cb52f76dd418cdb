using System.Globalization;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// Reads a <c>.csv</c> of samples, one per row, each the model input without its batch dimension flattened in C order.
/// Rows are streamed: cells are tokenized from a small buffer (never a whole line in memory), a line longer than its
/// values can need is refused by line number as soon as it is seen, and reading stops after the rows wanted. Cells
/// are numbers in the invariant culture, or NumPy's <c>inf</c>, <c>-inf</c>, <c>+inf</c>, <c>nan</c> (any case, also
/// <c>Infinity</c>).
/// </summary>
internal static class CsvReader
{
    /// <summary>Characters one value may take, separator included (NumPy's <c>%.18e</c> needs 26).</summary>
    public const int CharsPerValue = 32;

    /// <summary>Characters a line may take beyond <see cref="CharsPerValue"/> per value (spaces, a line ending).</summary>
    public const int LineSlack = 256;

    private const int MaxCell = 128;

    /// <summary>The first <paramref name="maxRows"/> samples of shape <paramref name="sampleShape"/> in the file, as an array [rows, ..sampleShape].</summary>
    /// <exception cref="CliException">A line with the wrong number of values, a cell that is not a number, or a line too long; the message names the line.</exception>
    public static NpyArray Read(string path, int[] sampleShape, ValueKind kind, int maxRows)
    {
        int sampleSize = 1;
        foreach (int d in sampleShape)
            sampleSize = checked(sampleSize * d);
        using var reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16 });
        var state = new CsvState(path, sampleSize, checked((long)sampleSize * CharsPerValue + LineSlack));
        var buffer = new char[1 << 16];
        int n;
        while (state.Rows < maxRows && (n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (int i = 0; i < n && state.Rows < maxRows; i++)
                state.Add(buffer[i]);
        }

        if (state.Rows < maxRows)
            state.EndLine();
        var floats = state.Values.ToArray();
        return new NpyArray([state.Rows, .. sampleShape], kind == ValueKind.Float ? floats : null,
            kind == ValueKind.Int64 ? Array.ConvertAll(floats, f => (long)f) : null, "csv");
    }

    /// <summary>Parses one cell: a number, or NumPy's spellings of infinity and NaN.</summary>
    public static bool TryParse(ReadOnlySpan<char> cell, out float value)
    {
        cell = cell.Trim();
        var body = cell.Length > 0 && cell[0] is '+' or '-' ? cell[1..] : cell;
        bool negative = cell.Length > 0 && cell[0] == '-';
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? float.NegativeInfinity : float.PositiveInfinity;
            return true;
        }

        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = float.NaN;
            return true;
        }

        return float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The tokenizer's state: the line being read, its current cell, and the values so far.</summary>
    private sealed class CsvState(string path, int sampleSize, long maxLineChars)
    {
        private readonly char[] _cell = new char[MaxCell];
        private int _cellLength;
        private int _cells;
        private long _lineChars;
        private long _line = 1;

        public List<float> Values { get; } = [];

        public int Rows { get; private set; }

        public void Add(char c)
        {
            if (c == '\n')
            {
                EndLine();
                return;
            }

            if (++_lineChars > maxLineChars)
                throw new CliException($"'{path}' line {_line} is longer than the {maxLineChars} characters {sampleSize} values can need");
            if (c == ',')
            {
                EndCell();
                return;
            }

            if (_cellLength == MaxCell)
                throw new CliException($"'{path}' line {_line}, value {_cells + 1}: longer than {MaxCell} characters");
            _cell[_cellLength++] = c;
        }

        public void EndLine()
        {
            bool blank = _cells == 0 && _cell.AsSpan(0, _cellLength).Trim().IsEmpty;
            if (!blank)
            {
                EndCell();
                if (_cells != sampleSize)
                    throw new CliException($"'{path}' line {_line} has {_cells} values; the model input needs {sampleSize} per sample");
                Rows++;
            }

            _cells = 0;
            _cellLength = 0;
            _lineChars = 0;
            _line++;
        }

        private void EndCell()
        {
            var cell = _cell.AsSpan(0, _cellLength);
            if (++_cells > sampleSize)
                throw new CliException($"'{path}' line {_line} has more than {sampleSize} values; the model input needs {sampleSize} per sample");
            if (!TryParse(cell, out float v))
                throw new CliException($"'{path}' line {_line}: '{cell.Trim()}' is not a number");
            Values.Add(v);
            _cellLength = 0;
        }
    }
}
