using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// The batches of a data file, read again, one batch at a time, on every enumeration (as an ML.NET data view's
/// cursors are), for the searches that calibrate once per trial: memory holds one batch, not the file. The file is
/// checked when this is made, before any batch is used (a .csv's every row, once: later enumerations read the rows
/// then counted); an enumeration fails if the file's size or time of last write has changed since.
/// </summary>
internal sealed class RereadBatches : IEnumerable<IReadOnlyList<NamedTensor>>
{
    private readonly OnnxGraph _graph;
    private readonly string _path;
    private readonly int _batchSize;
    private readonly bool _exact;
    private readonly (long Length, DateTime Written) _stamp;

    /// <summary>Checks the file as <see cref="ModelInputs.Stream"/> does and remembers its size and time of last write.</summary>
    /// <exception cref="CliException">The file is missing or malformed, or does not fit the model's inputs.</exception>
    public RereadBatches(OnnxGraph graph, string path, int maxSamples, int batchSize, bool exact)
    {
        (_graph, _path, _batchSize, _exact) = (graph, path, batchSize, exact);
        _stamp = Stamp(path);
        using var first = ModelInputs.Stream(graph, path, maxSamples, batchSize, exact);
        TotalSamples = first.TotalSamples;
        if (Stamp(path) != _stamp)
            throw Changed();
    }

    /// <summary>The samples the batches hold together.</summary>
    public long TotalSamples { get; }

    /// <summary>How many times the file has been opened for the batches (the check when made included).</summary>
    public int Passes { get; private set; } = 1;

    public IEnumerator<IReadOnlyList<NamedTensor>> GetEnumerator()
    {
        if (Stamp(_path) != _stamp)
            throw Changed();
        Passes++;
        // the file is as when checked, so a .csv's rows are not checked again: the samples counted then are read
        using var batches = ModelInputs.Stream(_graph, _path, checked((int)TotalSamples), _batchSize, _exact, rowsChecked: true);
        if (batches.TotalSamples != TotalSamples)
            throw Changed();
        foreach (var batch in batches)
            yield return batch;
        if (Stamp(_path) != _stamp)
            throw Changed();
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private static (long, DateTime) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    private CliException Changed() =>
        new($"data file '{_path}' changed while it was being read (its size or time of last write is not what it was when first read); the searches read it once per trial and need it unchanged");
}
