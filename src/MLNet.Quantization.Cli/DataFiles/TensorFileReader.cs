using System.Globalization;
using System.IO.Compression;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>Reads model input samples from <c>.npy</c>, <c>.npz</c> (one array per input name) or <c>.csv</c> (one flattened sample per row).</summary>
internal static class TensorFileReader
{
    /// <summary>Arrays by input name; for .npy and .csv the single array is keyed by <paramref name="singleInputName"/>.</summary>
    public static Dictionary<string, NpyArray> Read(string path, string singleInputName, int sampleSize)
    {
        if (!File.Exists(path))
            throw new CliException($"data file '{path}' does not exist");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".npy" => new() { [singleInputName] = NpyReader.Read(path) },
            ".npz" => ReadNpz(path),
            ".csv" => new() { [singleInputName] = ReadCsv(path, sampleSize) },
            _ => throw new CliException($"data file '{path}' must be .npy, .npz or .csv"),
        };
    }

    private static Dictionary<string, NpyArray> ReadNpz(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".npy", StringComparison.Ordinal)))
            {
                using var s = entry.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                ms.Position = 0;
                result[Path.GetFileNameWithoutExtension(entry.Name)] = NpyReader.Read(ms, $"{path}:{entry.Name}");
            }

            return result;
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"'{path}' is not a valid .npz archive ({e.Message})");
        }
    }

    private static NpyArray ReadCsv(string path, int sampleSize)
    {
        var values = new List<float>();
        int rows = 0;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            var cells = line.Split(',');
            if (cells.Length != sampleSize)
                throw new CliException($"'{path}' line {lineNumber} has {cells.Length} values; the model input needs {sampleSize} per sample");
            foreach (var cell in cells)
            {
                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
                    throw new CliException($"'{path}' line {lineNumber}: '{cell.Trim()}' is not a number");
                values.Add(v);
            }

            rows++;
        }

        var floats = values.ToArray();
        return new NpyArray([rows, sampleSize], floats, floats.Select(f => (long)f).ToArray(), "csv");
    }
}
