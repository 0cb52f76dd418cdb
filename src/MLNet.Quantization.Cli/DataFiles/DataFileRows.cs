using System.IO.Compression;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// The arrays of a <c>.npy</c> or <c>.npz</c> data file opened for reading a few rows at a time (see
/// <see cref="NpyRowStream"/>): one per model input, and the archive they come from.
/// </summary>
internal sealed class DataFileRows : IDisposable
{
    private readonly IDisposable? _archive;

    private DataFileRows(Dictionary<string, NpyRowStream> arrays, IDisposable? archive)
    {
        Arrays = arrays;
        _archive = archive;
    }

    /// <summary>The opened arrays by input name.</summary>
    public IReadOnlyDictionary<string, NpyRowStream> Arrays { get; }

    /// <summary>Whether <paramref name="path"/> can be streamed (.npy, .npz); a .csv is read whole.</summary>
    public static bool CanStream(string path) => Path.GetExtension(path).ToLowerInvariant() is ".npy" or ".npz";

    /// <summary>Opens the arrays for <paramref name="inputs"/>: a .npy is the first input's, a .npz holds one per input name.</summary>
    /// <exception cref="CliException">The file is missing, malformed, ambiguous or lacks an input's array; the message names it.</exception>
    public static DataFileRows Open(string path, IReadOnlyList<DataInput> inputs)
    {
        if (!File.Exists(path))
            throw new CliException($"data file '{path}' does not exist");
        return DataFileErrors.Guard(path, () =>
        {
            if (Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase))
            {
                var file = File.OpenRead(path);
                try
                {
                    return new DataFileRows(new Dictionary<string, NpyRowStream>(StringComparer.Ordinal) { [inputs[0].Name] = NpyRowStream.Open(file, path, file.Length, inputs[0].Kind) }, null);
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }

            var zip = ZipFile.OpenRead(path);
            var arrays = new Dictionary<string, NpyRowStream>(StringComparer.Ordinal);
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
