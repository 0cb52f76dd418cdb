using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Shapes;

/// <summary>
/// Checks in ONNX Runtime that a graph whose batch dimension was made symbolic computes what the original computes:
/// the original runs at its fixed batch B on 3·B random samples, the relaxed graph runs on the same samples one per
/// run and all 3·B in one run, and every output must agree per sample within
/// <see cref="RelativeTolerance"/> of the output's largest magnitude.
/// </summary>
internal static class BatchEquivalenceCheck
{
    /// <summary>The largest difference allowed, relative to max(1, the output's largest magnitude).</summary>
    public const double RelativeTolerance = 1e-4;

    /// <summary>Samples at most this many float or int64 elements in total (3·B samples), so a huge input is not allocated.</summary>
    public const long MaxElements = 1L << 26;

    private const int Groups = 3;

    /// <summary>The largest relative difference seen, or a failure reason.</summary>
    public readonly record struct Result(double MaxDifference, int LargeBatch, string? Failure);

    /// <summary>Runs the check; inputs must have fixed shapes in <paramref name="original"/>.</summary>
    public static Result Verify(OnnxGraph original, OnnxGraph relaxed, int fixedBatch, CancellationToken cancellationToken = default)
    {
        int samples = checked(fixedBatch * Groups);
        var rng = new Random(20240229);
        var feeds = original.Inputs.Select(i => SampleData.Random(i, samples, rng)).ToList();
        string modelName = OrtBoundary.ModelName(original);
        try
        {
            var reference = RunAll(original, feeds, fixedBatch, samples, modelName, $"check its batch dimension at the fixed batch {fixedBatch}", cancellationToken);
            double worst = 0;
            foreach (int batch in new[] { 1, samples }.Distinct())
            {
                var got = RunAll(relaxed, feeds, batch, samples, modelName, $"check it with a symbolic batch at batch {batch}", cancellationToken);
                foreach (var (name, expected) in reference)
                {
                    var actual = got[name];
                    if (!expected.SampleShape.SequenceEqual(actual.SampleShape))
                        return new Result(worst, samples, $"output '{name}' has per-sample shape [{string.Join(", ", actual.SampleShape)}] at batch {batch}, not [{string.Join(", ", expected.SampleShape)}]");
                    double difference = RelativeDifference(expected.Values, actual.Values);
                    worst = Math.Max(worst, difference);
                    if (!(difference <= RelativeTolerance))
                        return new Result(worst, samples, $"output '{name}' differs from the fixed-batch model at batch {batch} by {difference:G3} of its scale (allowed {RelativeTolerance:G1})");
                }
            }

            return new Result(worst, samples, null);
        }
        catch (OnnxGraphException e)
        {
            return new Result(0, samples, e.Message);
        }
    }

    /// <summary>One output over all samples: its shape without the batch dimension and the values, samples in order.</summary>
    private sealed record Stacked(long[] SampleShape, float[] Values);

    private static Dictionary<string, Stacked> RunAll(OnnxGraph graph, List<SampleData> feeds, int batch, int samples, string modelName, string purpose, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL);
        using var session = OrtBoundary.CreateSession(graph.ToModel().ToBytes(), options, modelName, purpose);
        using var run = new CancellableRunOptions(cancellationToken);
        var outputs = graph.Outputs.Select(o => o.Name).ToArray();
        var values = outputs.ToDictionary(o => o, _ => new List<float>(), StringComparer.Ordinal);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (int start = 0; start < samples; start += batch)
        {
            var inputs = feeds.Select(f => f.Slice(start, batch)).ToList();
            using var results = OrtBoundary.Run(() => session.Run(inputs, outputs, run.Options), modelName, purpose, cancellationToken);
            foreach (var result in results)
            {
                var tensor = OrtValueConversion.ToTensorData(result, result.Name);
                if (tensor.Dims.Count == 0 || tensor.Dims[0] != batch)
                    throw new OnnxGraphException($"Output '{result.Name}' has shape [{string.Join(", ", tensor.Dims)}] for a batch of {batch}; its first dimension is not the batch.");
                shapes[result.Name] = tensor.Dims.Skip(1).ToArray();
                values[result.Name].AddRange(tensor.ToFloatArray());
            }
        }

        return outputs.ToDictionary(o => o, o => new Stacked(shapes[o], values[o].ToArray()), StringComparer.Ordinal);
    }

    private static double RelativeDifference(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length)
            return double.PositiveInfinity;
        double scale = 1;
        foreach (float v in expected)
        {
            if (float.IsFinite(v))
                scale = Math.Max(scale, Math.Abs(v));
        }

        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i].Equals(actual[i]))
                continue; // also equal NaNs and infinities
            worst = Math.Max(worst, Math.Abs((double)expected[i] - actual[i]) / scale);
        }

        return worst;
    }

    /// <summary>Random samples for one input: float in [−1, 1), int64 zeros (valid indices and token ids).</summary>
    private sealed class SampleData
    {
        private readonly string _name;
        private readonly int[] _sampleShape;
        private readonly float[]? _floats;
        private readonly long[]? _int64s;

        private SampleData(string name, int[] sampleShape, float[]? floats, long[]? int64s)
        {
            _name = name;
            _sampleShape = sampleShape;
            _floats = floats;
            _int64s = int64s;
        }

        public static SampleData Random(ValueInfo input, int samples, Random rng)
        {
            var sampleShape = input.FixedShape!.Skip(1).Select(d => checked((int)d)).ToArray();
            int count = checked(samples * sampleShape.Aggregate(1, (a, b) => checked(a * b)));
            if (input.ElementType == Graph.TensorElementType.Int64)
                return new SampleData(input.Name, sampleShape, null, new long[count]);
            var floats = new float[count];
            for (int i = 0; i < count; i++)
                floats[i] = (float)(rng.NextDouble() * 2 - 1);
            return new SampleData(input.Name, sampleShape, floats, null);
        }

        public NamedOnnxValue Slice(int start, int batch)
        {
            int size = _sampleShape.Aggregate(1, (a, b) => a * b);
            int[] shape = [batch, .. _sampleShape];
            return _floats is not null
                ? NamedOnnxValue.CreateFromTensor(_name, new DenseTensor<float>(_floats.AsMemory(start * size, batch * size), shape))
                : NamedOnnxValue.CreateFromTensor(_name, new DenseTensor<long>(_int64s!.AsMemory(start * size, batch * size), shape));
        }
    }
}
