using MLNet.Quantization.Calibration;
using MLNet.Quantization.Cli.DataFiles;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>Turns a data file into batches for a model's inputs, checking shapes against the model.</summary>
internal static class ModelInputs
{
    /// <summary>
    /// Batches of at most <paramref name="batchSize"/> samples from the first <paramref name="maxSamples"/> of the file;
    /// with <paramref name="exact"/> (a fixed-batch model) a last, smaller batch is left out.
    /// </summary>
    public static List<IReadOnlyList<NamedTensor>> Batches(OnnxGraph graph, string path, int maxSamples, int batchSize = QuantizeCommand.DefaultBatchSize, bool exact = false)
    {
        var inputs = graph.Inputs;
        if (inputs.Count == 0)
            throw new CliException("the model has no inputs to feed");
        var wanted = inputs.Select(i => new DataInput(i.Name, Kind(i), SampleShape(i))).ToList();
        var arrays = TensorFileReader.Read(path, wanted, maxSamples);
        int samples = UsableSamples(CheckedSamples(inputs, arrays.ToDictionary(a => a.Key, a => a.Value.Shape, StringComparer.Ordinal), path), maxSamples, batchSize, exact, path);
        var batches = new List<IReadOnlyList<NamedTensor>>();
        for (int start = 0; start < samples; start += batchSize)
        {
            int n = Math.Min(batchSize, samples - start);
            var batch = new List<NamedTensor>();
            foreach (var input in inputs)
            {
                var array = arrays[input.Name];
                int size = array.Shape.Skip(1).Aggregate(1, (a, b) => checked(a * b));
                int[] shape = [n, .. array.Shape.Skip(1)];
                batch.Add(Kind(input) == ValueKind.Int64
                    ? NamedTensor.FromInt64(input.Name, array.Int64s.AsSpan(checked(start * size), checked(n * size)).ToArray(), shape)
                    : NamedTensor.FromFloats(input.Name, array.Floats.AsSpan(checked(start * size), checked(n * size)).ToArray(), shape));
            }

            batches.Add(batch);
        }

        return batches;
    }

    /// <summary>The samples every input has, after checking that the file holds each input's array, of a shape that fits it.</summary>
    private static int CheckedSamples(IReadOnlyList<ValueInfo> inputs, IReadOnlyDictionary<string, int[]> shapes, string path)
    {
        int samples = int.MaxValue;
        foreach (var input in inputs)
        {
            if (!shapes.TryGetValue(input.Name, out var shape))
                throw new CliException($"data file '{path}' has no array for model input '{input.Name}' (has: {string.Join(", ", shapes.Keys)})");
            CheckShape(input, shape, path);
            samples = Math.Min(samples, shape[0]);
        }

        return samples;
    }

    /// <summary>
    /// As <see cref="Batches"/>, but the file is read one batch at a time while the batches are enumerated (once), so
    /// memory holds one batch and not the file. Shapes (and a .csv's every row) are checked here, before any batch;
    /// with <paramref name="rowsChecked"/> (the file is unchanged since a pass counted <paramref name="maxSamples"/>
    /// samples) a .csv's rows are not checked again before they are read.
    /// </summary>
    public static StreamedBatches Stream(OnnxGraph graph, string path, int maxSamples, int batchSize, bool exact = false, bool rowsChecked = false)
    {
        var inputs = graph.Inputs;
        if (inputs.Count == 0)
            throw new CliException("the model has no inputs to feed");
        var rows = DataFileRows.Open(path, inputs.Select(i => new DataInput(i.Name, Kind(i), SampleShape(i))).ToList(), maxSamples, rowsChecked);
        try
        {
            int samples = UsableSamples(CheckedSamples(inputs, rows.Arrays.ToDictionary(a => a.Key, a => a.Value.Shape, StringComparer.Ordinal), path), maxSamples, batchSize, exact, path);
            return new StreamedBatches(Read(inputs, rows, samples, batchSize), samples, rows);
        }
        catch
        {
            rows.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes batch after batch. Each batch is garbage once observed, but the GC, with memory to spare, lets large
    /// arrays pile up (96 MB more peak memory for 384 more samples of 256 KB, measured); so a full collection runs
    /// whenever the batches read since the last one exceed twice a batch and 32 MB, which keeps that bounded.
    /// </summary>
    private static IEnumerable<IReadOnlyList<NamedTensor>> Read(IReadOnlyList<ValueInfo> inputs, DataFileRows rows, int samples, int batchSize)
    {
        long sinceCollection = 0;
        for (int start = 0; start < samples; start += batchSize)
        {
            int n = Math.Min(batchSize, samples - start);
            var batch = inputs.Select(input =>
            {
                var array = rows.Arrays[input.Name].ReadRows(n);
                return Kind(input) == ValueKind.Int64 ? NamedTensor.FromInt64(input.Name, array.Int64s!, array.Shape) : NamedTensor.FromFloats(input.Name, array.Floats!, array.Shape);
            }).ToList();
            long bytes = batch.Sum(t => (t.Floats?.LongLength ?? 0) * sizeof(float) + (t.Int64s?.LongLength ?? 0) * sizeof(long));
            sinceCollection += bytes;
            if (sinceCollection > Math.Max(2 * bytes, 32L << 20))
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
                sinceCollection = bytes;
            }

            yield return batch;
        }

        foreach (var array in rows.Arrays.Values)
            array.ReadToEnd();
    }

    private static void CheckShape(ValueInfo input, int[] shape, string path)
    {
        var expected = SampleShape(input);
        var actual = shape.Skip(1).ToArray();
        if (shape.Length == 0 || expected.Length != actual.Length || expected.Zip(actual).Any(p => p.First > 0 && p.First != p.Second))
        {
            throw new CliException(
                $"data file '{path}' has shape [{string.Join(", ", shape)}] for input '{input.Name}', which needs [N, {string.Join(", ", expected.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]");
        }
    }

    /// <summary>The samples to use: at most <paramref name="maxSamples"/>, whole batches only when <paramref name="exact"/>.</summary>
    private static int UsableSamples(int samples, int maxSamples, int batchSize, bool exact, string path)
    {
        samples = Math.Min(samples, maxSamples);
        if (samples == 0)
            throw new CliException($"data file '{path}' holds no samples");
        if (exact)
        {
            if (samples < batchSize)
                throw new CliException($"data file '{path}' holds {samples} sample(s), fewer than the model's fixed batch of {batchSize}");
            samples -= samples % batchSize;
        }

        return samples;
    }

    private static ValueKind Kind(ValueInfo input) => input.ElementType == TensorElementType.Int64 ? ValueKind.Int64 : ValueKind.Float;

    private static int[] SampleShape(ValueInfo input) =>
        input.Shape is null ? [] : input.Shape.Skip(1).Select(d => d.Value is long v and > 0 and <= int.MaxValue ? (int)v : -1).ToArray();
}

/// <summary>Batches read from a data file as they are enumerated, and how many samples they hold; dispose to close the file.</summary>
internal sealed class StreamedBatches(IEnumerable<IReadOnlyList<NamedTensor>> batches, long totalSamples, IDisposable? file) : IEnumerable<IReadOnlyList<NamedTensor>>, IDisposable
{
    /// <summary>The samples the batches hold together.</summary>
    public long TotalSamples => totalSamples;

    public IEnumerator<IReadOnlyList<NamedTensor>> GetEnumerator() => batches.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose() => file?.Dispose();
}
