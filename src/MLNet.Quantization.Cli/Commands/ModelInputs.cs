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
        int samples = int.MaxValue;
        foreach (var input in inputs)
        {
            if (!arrays.TryGetValue(input.Name, out var array))
                throw new CliException($"data file '{path}' has no array for model input '{input.Name}' (has: {string.Join(", ", arrays.Keys)})");
            var expected = SampleShape(input);
            var actual = array.Shape.Skip(1).ToArray();
            if (array.Shape.Length == 0 || expected.Length != actual.Length || expected.Zip(actual).Any(p => p.First > 0 && p.First != p.Second))
            {
                throw new CliException(
                    $"data file '{path}' has shape [{string.Join(", ", array.Shape)}] for input '{input.Name}', which needs [N, {string.Join(", ", expected.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]");
            }

            samples = Math.Min(samples, array.Shape[0]);
        }

        samples = Math.Min(samples, maxSamples);
        if (samples == 0)
            throw new CliException($"data file '{path}' holds no samples");
        if (exact)
        {
            if (samples < batchSize)
                throw new CliException($"data file '{path}' holds {samples} sample(s), fewer than the model's fixed batch of {batchSize}");
            samples -= samples % batchSize;
        }
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

    private static ValueKind Kind(ValueInfo input) => input.ElementType == TensorElementType.Int64 ? ValueKind.Int64 : ValueKind.Float;

    private static int[] SampleShape(ValueInfo input) =>
        input.Shape is null ? [] : input.Shape.Skip(1).Select(d => d.Value is long v and > 0 and <= int.MaxValue ? (int)v : -1).ToArray();
}
