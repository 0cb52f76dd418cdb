using System.IO.Compression;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// The arrays of a <c>.npy</c>, <c>.npz</c> or <c>.csv</c> data file opened for reading a few rows at a time (see
/// <see cref="NpyRowStream"/>, <see cref="CsvRowStream"/>): one per model input, and the archive they come from.
/// </summary>
internal sealed class DataFileRows : IDisposable
{
    private readonly IDisposable? _archive;

    private DataFileRows(Dictionary<string, IRowStream> arrays, IDisposable? archive)
    {
        Arrays = arrays;
        _archive = archive;
    }

    /// <summary>The opened arrays by input name.</summary>
    public IReadOnlyDictionary<string, IRowStream> Arrays { get; }

    /// <summary>
    /// Opens the arrays for <paramref name="inputs"/>: a .npy or .csv is the first input's, a .npz holds one per input
    /// name. A .csv's first <paramref name="maxRows"/> rows are checked and counted here, before any is read, unless
    /// <paramref name="rowsChecked"/> says an earlier pass over the unchanged file did (see <see cref="CsvReader.Open"/>).
    /// </summary>
    /// <exception cref="CliException">The file is missing, malformed, ambiguous or lacks an input's array; the message names it.</exception>
    public static DataFileRows Open(string path, IReadOnlyList<DataInput> inputs, int maxRows, bool rowsChecked = false)
    {
        string ext = TensorFileReader.Extension(path);
        return DataFileErrors.Guard(path, () =>
        {
            if (ext == ".csv")
            {
                var csv = CsvReader.Open(path, TensorFileReader.CsvSampleShape(path, inputs[0]), inputs[0].Kind, maxRows, rowsChecked);
                return new DataFileRows(new Dictionary<string, IRowStream>(StringComparer.Ordinal) { [inputs[0].Name] = csv }, null);
            }

            if (ext == ".npy")
            {
                var file = File.OpenRead(path);
                try
                {
                    return new DataFileRows(new Dictionary<string, IRowStream>(StringComparer.Ordinal) { [inputs[0].Name] = NpyRowStream.Open(file, path, file.Length, inputs[0].Kind) }, null);
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }

            var zip = ZipFile.OpenRead(path);
            var arrays = new Dictionary<string, IRowStream>(StringComparer.Ordinal);
            try
            {
                foreach (var (key, entry) in NpzReader.Entries(path, zip, inputs.Select(i => i.Name)))
                {
                    string name = $"{path}:{entry.FullName}";
                    arrays[key] = NpyRowStream.Open(new Crc32Stream(entry.Open(), entry.Crc32, name), name, entry.Length, inputs.First(i => i.Name == key).Kind);
                }

                return new DataFileRows(arrays, zip);
            }
            catch
            {
                foreach (var array in arrays.Values)
                    array.Dispose();
                zip.Dispose();
                throw;
            }
        });
    }

    public void Dispose()
    {
        foreach (var array in Arrays.Values)
            array.Dispose();
        _archive?.Dispose();
    }
}
