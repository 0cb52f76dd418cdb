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
        using var rows = new CsvRowStream(path, sampleShape, kind, maxRows, keepValues: true);
        return rows.ReadRows(maxRows);
    }

    /// <summary>
    /// Opens the file for reading a batch of rows at a time: a first pass checks and counts the first
    /// <paramref name="maxRows"/> rows (keeping no values), so that every error is raised before any row is used.
    /// With <paramref name="rowsChecked"/> (the file is unchanged since such a pass counted <paramref name="maxRows"/>
    /// rows) that pass is skipped; a row is still refused if it is malformed, or missing, when it is read.
    /// </summary>
    /// <exception cref="CliException">As <see cref="Read"/>, for any of the rows.</exception>
    public static CsvRowStream Open(string path, int[] sampleShape, ValueKind kind, int maxRows, bool rowsChecked = false)
    {
        int rows = maxRows;
        if (!rowsChecked)
        {
            using var check = new CsvRowStream(path, sampleShape, kind, maxRows, keepValues: false);
            rows = check.ReadRows(maxRows).Shape[0];
        }

        var stream = new CsvRowStream(path, sampleShape, kind, maxRows, keepValues: true);
        stream.Shape[0] = rows;
        return stream;
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

    /// <summary>The tokenizer's state: the line being read, its current cell, and the values so far (when kept).</summary>
    internal sealed class CsvState(string path, int sampleSize, long maxLineChars, bool keepValues)
    {
        private readonly char[] _cell = new char[MaxCell];
        private int _cellLength;
        private int _cells;
        private long _lineChars;
        private long _line = 1;

        /// <summary>The values of the rows since the last <see cref="TakeRows"/> (none unless kept).</summary>
        public List<float> Values { get; } = [];

        /// <summary>The rows completed so far.</summary>
        public int Rows { get; private set; }

        /// <summary>The values of the rows completed since the last call; a row in progress is kept for the next.</summary>
        public float[] TakeRows(int rows)
        {
            int count = checked(rows * sampleSize);
            var taken = Values.GetRange(0, count).ToArray();
            Values.RemoveRange(0, count);
            return taken;
        }

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
            if (keepValues)
                Values.Add(v);
            _cellLength = 0;
        }
    }
}
