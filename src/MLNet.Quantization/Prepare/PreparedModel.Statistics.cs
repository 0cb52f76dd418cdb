using System.Security.Cryptography;
using Google.Protobuf;
using MLNet.Quantization.Calibration;

namespace MLNet.Quantization;

/// <summary>Saving and loading calibration statistics, so calibration can run in shards (docs/scale-out.md).</summary>
public sealed partial class PreparedModel
{
    /// <summary>
    /// Writes the activation observers' statistics, with what was observed (batches, samples, time), to a statistics
    /// file tied to this prepared model by a fingerprint. Weights are not saved: prepare observes them again.
    /// </summary>
    /// <param name="path">The file to write; replaced only once complete.</param>
    /// <example>
    /// One shard of a calibration, on any machine:
    /// <code language="csharp">
    /// var prepared = QuantizationFlow.Prepare(OnnxModel.Load("model.onnx"), quantizer);
    /// prepared.Calibrate(myShardBatches);
    /// prepared.SaveStatistics("shard-3.stats");
    /// </code>
    /// Then, where the shards meet:
    /// <code language="csharp">
    /// var prepared = QuantizationFlow.Prepare(OnnxModel.Load("model.onnx"), quantizer);   // the same model and options
    /// foreach (var file in Directory.GetFiles("stats", "*.stats"))
    ///     prepared.LoadStatistics(file);
    /// prepared.Convert().Save("model.int8.onnx");
    /// </code>
    /// </example>
    /// <exception cref="NotSupportedException">An observer is a custom type without a statistics-file form.</exception>
    public void SaveStatistics(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = ToStatisticsFile();
        Onnx.PendingFile.Write(path, file.Write);
    }

    /// <summary>Writes the statistics as <see cref="SaveStatistics(string)"/> does, to <paramref name="stream"/>.</summary>
    public void SaveStatistics(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ToStatisticsFile().Write(stream);
    }

    /// <summary>
    /// Loads a statistics file written by <see cref="SaveStatistics(string)"/> (or the CLI's <c>calibrate</c> and
    /// <c>merge</c>) for this prepared model, merging it into the statistics held (<see cref="StatisticsLoadMode.Merge"/>,
    /// the default) or replacing them. The file is validated in full before anything changes.
    /// </summary>
    /// <param name="path">The statistics file.</param>
    /// <param name="mode">Merge into, or replace, the statistics the model holds.</param>
    /// <returns>What the file's statistics were observed on (batches, samples, time).</returns>
    /// <exception cref="InvalidDataException">The file is not a statistics file, is truncated or corrupted, holds an invalid value, or was written for another model or other preparation options (the message names the file and the reason).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public CalibrationProgress LoadStatistics(string path, StatisticsLoadMode mode = StatisticsLoadMode.Merge)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return LoadStatistics(stream, mode, path);
    }

    /// <summary>Loads statistics as <see cref="LoadStatistics(string, StatisticsLoadMode)"/> does, from <paramref name="stream"/>; <paramref name="source"/> names it in messages.</summary>
    public CalibrationProgress LoadStatistics(Stream stream, StatisticsLoadMode mode = StatisticsLoadMode.Merge, string source = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        var file = StatisticsFile.Read(stream, source);
        if (!file.Fingerprint.AsSpan().SequenceEqual(StatisticsFingerprint()))
        {
            throw new InvalidDataException(
                $"Statistics file '{source}' was written for another prepared model: its fingerprint does not match (another model, or other preparation options such as the mode, observer, --exclude or input shapes).");
        }

        var groups = ActivationGroups();
        if (file.Groups.Count != groups.Count)
            throw new InvalidDataException($"Statistics file '{source}' has {file.Groups.Count} groups; the prepared model has {groups.Count}.");
        for (int g = 0; g < groups.Count; g++)
        {
            var expected = groups[g];
            var loaded = file.Groups[g];
            if (!loaded.Tensors.SequenceEqual(SortedTensors(expected), StringComparer.Ordinal)
                || !ObserverSettings.ToBytes(loaded.Observer).AsSpan().SequenceEqual(ObserverSettings.ToBytes(expected.Observer!)))
                throw new InvalidDataException($"Statistics file '{source}': group {g} does not match the prepared model's [{string.Join(", ", expected.Tensors)}].");
        }

        // validated in full: now change the model
        var merged = new List<Observers.Observer>(groups.Count);
        for (int g = 0; g < groups.Count; g++)
        {
            var target = groups[g].Observer!.CreateEmpty();
            try
            {
                if (mode == StatisticsLoadMode.Merge)
                    target.Merge(groups[g].Observer!);
                target.Merge(file.Groups[g].Observer);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"Statistics file '{source}': group {g} [{string.Join(", ", groups[g].Tensors)}] cannot merge: {e.Message}", e);
            }

            merged.Add(target);
        }

        for (int g = 0; g < groups.Count; g++)
            groups[g].Observer = merged[g];
        if (mode == StatisticsLoadMode.Replace)
            _calibration = default;
        RecordObservations(file.Observed);
        return file.Observed;
    }

    internal StatisticsFile ToStatisticsFile() =>
        new(StatisticsFingerprint(), _calibration, ActivationGroups().Select(g => new StatisticsGroup(SortedTensors(g), g.Observer!)).ToList());

    /// <summary>
    /// SHA-256 over the prepared float graph's bytes (folding, input shapes and batch handling included) and, per
    /// activation group in order, its tensor names and its observer's settings: a file from another model or other
    /// preparation options does not match.
    /// </summary>
    internal byte[] StatisticsFingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("mlnet-quantization statistics fingerprint 1\0"u8);
        hash.AppendData(SHA256.HashData(_graph.ToModel().Proto.ToByteArray()));
        foreach (var group in ActivationGroups())
        {
            var writer = new StatisticsWriter();
            var tensors = SortedTensors(group);
            writer.WriteInt32(tensors.Count);
            foreach (string tensor in tensors)
                writer.WriteString(tensor);
            ObserverSettings.Write(writer, group.Observer!);
            hash.AppendData(writer.ToArray());
        }

        return hash.GetHashAndReset();
    }

    private List<QuantGroup> ActivationGroups() => _groups.Where(g => g.Kind == QuantGroupKind.Activation).ToList();

    private static List<string> SortedTensors(QuantGroup group) => group.Tensors.Order(StringComparer.Ordinal).ToList();
}
