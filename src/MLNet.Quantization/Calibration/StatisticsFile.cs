using System.Security.Cryptography;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Calibration;

/// <summary>The observed tensors of one group and the observer holding their statistics.</summary>
internal sealed record StatisticsGroup(IReadOnlyList<string> Tensors, Observer Observer);

/// <summary>
/// A calibration statistics file (format in docs/scale-out.md): magic, version, the prepared model's fingerprint,
/// what was observed, one observer per activation group with its settings and state, and a SHA-256 of all of it.
/// </summary>
internal sealed class StatisticsFile
{
    /// <summary>The first 8 bytes of every statistics file.</summary>
    public static ReadOnlySpan<byte> Magic => "MLNQSTAT"u8;

    /// <summary>The format version this library writes and reads.</summary>
    public const int Version = 1;

    /// <summary>The largest file read, in bytes (256 MiB: about 16,000 observers of 2048 bins).</summary>
    public const int MaxBytes = 256 << 20;

    /// <summary>The most groups or tensor names per group a file may declare.</summary>
    private const int MaxEntries = 1 << 20;

    private const int HashBytes = 32;

    public StatisticsFile(byte[] fingerprint, CalibrationProgress observed, IReadOnlyList<StatisticsGroup> groups)
    {
        Fingerprint = fingerprint;
        Observed = observed;
        Groups = groups;
    }

    /// <summary>SHA-256 of the prepared model and its observer settings (see <see cref="PreparedModel"/>).</summary>
    public byte[] Fingerprint { get; }

    /// <summary>Batches, samples and calibration time the statistics come from.</summary>
    public CalibrationProgress Observed { get; }

    public IReadOnlyList<StatisticsGroup> Groups { get; }

    public void Write(Stream stream)
    {
        var writer = new StatisticsWriter();
        writer.WriteBytes(Magic);
        writer.WriteInt32(Version);
        writer.WriteBytes(Fingerprint);
        writer.WriteInt32(Observed.Batches);
        writer.WriteInt64(Observed.Samples);
        writer.WriteInt64(Observed.Elapsed.Ticks);
        writer.WriteInt32(Groups.Count);
        foreach (var group in Groups)
        {
            writer.WriteInt32(group.Tensors.Count);
            foreach (string tensor in group.Tensors)
                writer.WriteString(tensor);
            ObserverSettings.Write(writer, group.Observer);
            group.Observer.WriteState(writer);
        }

        var body = writer.ToArray();
        stream.Write(body);
        stream.Write(SHA256.HashData(body));
    }

    /// <summary>Reads and validates a statistics file; every problem is an <see cref="InvalidDataException"/> naming <paramref name="source"/>.</summary>
    public static StatisticsFile Read(Stream stream, string source)
    {
        var (data, length) = ReadBounded(stream, source);
        if (length < Magic.Length + 4 || !data.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"Statistics file '{source}': not a statistics file (it does not start with 'MLNQSTAT').");
        var reader = new StatisticsReader(data, length, source);
        reader.ReadBytes(Magic.Length);
        int version = reader.ReadInt32();
        if (version != Version)
            throw reader.Error($"format version {version}; this library reads version {Version}");
        if (length < Magic.Length + 4 + HashBytes + HashBytes)
            throw reader.Error("truncated");
        int bodyLength = length - HashBytes;
        if (!SHA256.HashData(data.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(data.AsSpan(bodyLength, HashBytes)))
            throw new InvalidDataException($"Statistics file '{source}': its checksum does not match its contents (truncated or corrupted).");

        reader = new StatisticsReader(data, bodyLength, source);
        reader.ReadBytes(Magic.Length + 4);
        var fingerprint = reader.ReadBytes(HashBytes).ToArray();
        int batches = reader.ReadInt32();
        long samples = reader.ReadInt64();
        long ticks = reader.ReadInt64();
        if (batches < 0 || samples < 0 || ticks < 0)
            throw reader.Error($"negative counts ({batches} batches, {samples} samples, {ticks} ticks)");
        int count = reader.ReadInt32();
        if (count < 0 || count > MaxEntries)
            throw reader.Error($"it declares {count} groups");
        var groups = new List<StatisticsGroup>(Math.Min(count, 1024));
        for (int g = 0; g < count; g++)
        {
            int tensors = reader.ReadCount(4, "a group's tensor list");
            var names = new List<string>(Math.Min(tensors, 1024));
            for (int t = 0; t < tensors; t++)
                names.Add(reader.ReadString());
            var observer = ObserverSettings.Read(reader);
            observer.ReadState(reader);
            groups.Add(new StatisticsGroup(names, observer));
        }

        if (reader.Remaining != 0)
            throw reader.Error($"{reader.Remaining} bytes follow the last group");
        return new StatisticsFile(fingerprint, new CalibrationProgress(batches, samples, TimeSpan.FromTicks(ticks)), groups);
    }

    /// <summary>
    /// Merges files of the same prepared model: the observers of each group merge as <see cref="Observer.Merge"/> does,
    /// the counts add up. Files of another model (another fingerprint) are refused, naming them.
    /// </summary>
    public static StatisticsFile Merge(IReadOnlyList<(StatisticsFile File, string Source)> files)
    {
        if (files.Count == 0)
            throw new ArgumentException("Give at least one statistics file to merge.", nameof(files));
        var (first, firstSource) = files[0];
        var groups = first.Groups.Select(g => new StatisticsGroup(g.Tensors, g.Observer.CreateEmpty())).ToList();
        var observed = default(CalibrationProgress);
        foreach (var (file, source) in files)
        {
            if (!file.Fingerprint.AsSpan().SequenceEqual(first.Fingerprint))
                throw new InvalidDataException($"Statistics file '{source}' comes from another prepared model than '{firstSource}' (their fingerprints differ: another model, or other preparation options).");
            if (file.Groups.Count != groups.Count)
                throw new InvalidDataException($"Statistics file '{source}' has {file.Groups.Count} groups where '{firstSource}' has {groups.Count}.");
            for (int g = 0; g < groups.Count; g++)
            {
                if (!file.Groups[g].Tensors.SequenceEqual(groups[g].Tensors, StringComparer.Ordinal))
                    throw new InvalidDataException($"Statistics file '{source}': group {g} observes [{string.Join(", ", file.Groups[g].Tensors)}] where '{firstSource}' observes [{string.Join(", ", groups[g].Tensors)}].");
                try
                {
                    groups[g].Observer.Merge(file.Groups[g].Observer);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"Statistics file '{source}': group {g} [{string.Join(", ", groups[g].Tensors)}] cannot merge: {e.Message}", e);
                }
            }

            observed = new CalibrationProgress(observed.Batches + file.Observed.Batches, observed.Samples + file.Observed.Samples, observed.Elapsed + file.Observed.Elapsed);
        }

        return new StatisticsFile(first.Fingerprint, observed, groups);
    }

    /// <summary>The whole stream, refusing more than <see cref="MaxBytes"/> before reading past them.</summary>
    private static (byte[] Data, int Length) ReadBounded(Stream stream, string source)
    {
        if (stream.CanSeek && stream.Length - stream.Position > MaxBytes)
            throw new InvalidDataException($"Statistics file '{source}' holds {stream.Length - stream.Position} bytes; at most {MaxBytes} are read.");
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
                throw new InvalidDataException($"Statistics file '{source}' holds more than {MaxBytes} bytes, the most that are read.");
            buffer.Write(chunk, 0, read);
        }

        return (buffer.GetBuffer(), (int)buffer.Length);
    }
}
