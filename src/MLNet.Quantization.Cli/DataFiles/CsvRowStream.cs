namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// Reads a <c>.csv</c> of samples (see <see cref="CsvReader"/>) a batch of rows at a time, so that calibration holds one
/// batch of a large file and not all of it. At most the first <c>maxRows</c> rows are read.
/// </summary>
internal sealed class CsvRowStream : IRowStream
{
    private readonly StreamReader _reader;
    private readonly CsvReader.CsvState _state;
    private readonly char[] _buffer = new char[1 << 16];
    private readonly string _path;
    private readonly ValueKind _kind;
    private readonly int _maxRows;
    private int _position;
    private int _length;
    private bool _ended;
    private int _taken;

    internal CsvRowStream(string path, int[] sampleShape, ValueKind kind, int maxRows, bool keepValues)
    {
        int sampleSize = 1;
        foreach (int d in sampleShape)
            sampleSize = checked(sampleSize * d);
        _path = path;
        _kind = kind;
        _maxRows = maxRows;
        _state = new CsvReader.CsvState(path, sampleSize, checked((long)sampleSize * CsvReader.CharsPerValue + CsvReader.LineSlack), keepValues);
        _reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16 });
        Shape = [0, .. sampleShape];
    }

    /// <summary>The array's shape: the rows (counted when opened with <see cref="CsvReader.Open"/>), then the sample shape.</summary>
    public int[] Shape { get; }

    /// <summary>
    /// Values parsed and not yet returned by <see cref="ReadRows"/>: none between calls, so the stream holds at most the
    /// batch being read, never the rows before it.
    /// </summary>
    internal int PendingValues => _state.Values.Count;

    /// <summary>Parses the next rows, at most <paramref name="rows"/> (fewer at the end of the file or of the rows wanted).</summary>
    /// <exception cref="CliException">A malformed row, or the file ends before the rows counted when opened (it changed).</exception>
    public NpyArray ReadRows(int rows)
    {
        int wanted = (int)Math.Min((long)_taken + rows, _maxRows);
        while (_state.Rows < wanted && !_ended)
        {
            if (_position == _length)
            {
                _length = _reader.Read(_buffer, 0, _buffer.Length);
                _position = 0;
                if (_length == 0)
                {
                    _ended = true;
                    _state.EndLine();
                    break;
                }
            }

            while (_position < _length && _state.Rows < wanted)
                _state.Add(_buffer[_position++]);
        }

        int got = Math.Min(_state.Rows, wanted) - _taken;
        _taken += got;
        if (_ended && _taken < Shape[0])
            throw new CliException($"'{_path}' ended after {_taken} rows, but its first pass counted {Shape[0]}: the file changed while it was being read");
        var floats = _state.TakeRows(_state.Values.Count == 0 ? 0 : got);
        return new NpyArray([got, .. Shape.Skip(1)], _kind == ValueKind.Float ? floats : null,
            _kind == ValueKind.Int64 ? Array.ConvertAll(floats, f => (long)f) : null, "csv");
    }

    /// <summary>Nothing to check after the rows wanted: lines after them are not read, as <see cref="CsvReader.Read"/> does.</summary>
    public void ReadToEnd()
    {
    }

    public void Dispose() => _reader.Dispose();
}
