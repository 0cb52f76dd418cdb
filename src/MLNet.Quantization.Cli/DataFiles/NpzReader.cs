using System.IO.Compression;

namespace MLNet.Quantization.Cli.DataFiles;

/// <summary>
/// Reads the arrays a model needs from a NumPy <c>.npz</c> (a zip of <c>NAME.npy</c> entries). Only the entries asked
/// for are opened; each is bounded by its header and the entry's declared size, and CRC-checked. Two entries with the
/// same array name (e.g. <c>a/x.npy</c> and <c>b/x.npy</c>) make the file ambiguous, which is an error.
/// </summary>
internal static class NpzReader
{
    /// <summary>The arrays named in <paramref name="wanted"/>, decoded as asked.</summary>
    /// <exception cref="CliException">The archive is ambiguous, lacks a wanted array (the message lists those it has), or an entry is malformed.</exception>
    public static Dictionary<string, NpyArray> Read(string path, IReadOnlyDictionary<string, ValueKind> wanted, int maxRows)
    {
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (var (key, entry) in Entries(path, zip, wanted.Keys))
        {
            string name = $"{path}:{entry.FullName}";
            using var stream = new Crc32Stream(entry.Open(), entry.Crc32, name);
            result[key] = NpyReader.Read(stream, name, entry.Length, wanted[key], maxRows);
        }

        return result;
    }

    /// <summary>The archive's entry for each wanted array name.</summary>
    /// <exception cref="CliException">The archive is ambiguous or lacks a wanted array (the message lists those it has).</exception>
    public static List<(string Key, ZipArchiveEntry Entry)> Entries(string path, ZipArchive zip, IEnumerable<string> wanted)
    {
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".npy", StringComparison.Ordinal)))
        {
            string key = Path.GetFileNameWithoutExtension(entry.Name);
            if (!entries.TryAdd(key, entry))
                throw new CliException($"'{path}' is ambiguous: entries '{entries[key].FullName}' and '{entry.FullName}' both hold array '{key}'");
        }

        return wanted.Select(key => entries.TryGetValue(key, out var entry)
            ? (key, entry)
            : throw new CliException($"data file '{path}' has no array for model input '{key}' (has: {string.Join(", ", entries.Keys)})")).ToList();
    }
}
