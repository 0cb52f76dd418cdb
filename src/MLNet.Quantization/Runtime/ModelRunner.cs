using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Runtime;

/// <summary>Runs a single-input, single-output float model in ONNX Runtime over many samples, in batches.</summary>
public sealed class ModelRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;
    private readonly int[] _sampleShape;
    private readonly int? _fixedBatch;
    private readonly string _name;

    /// <summary>Creates a session over the model bytes.</summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="level">ORT's optimization level.</param>
    /// <param name="intraOpThreads">ORT's intra-op threads; 0 for ORT's default.</param>
    /// <param name="modelName">The model's name in error messages.</param>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime cannot load the model, or it has no float input.</exception>
    public ModelRunner(byte[] model, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL, int intraOpThreads = 0, string? modelName = null)
    {
        _name = modelName ?? "<bytes>";
        using var options = OrtSessionOptions.Create(level, intraOpThreads);
        _session = OrtBoundary.CreateSession(model, options, _name, "run it");
        if (!_session.InputMetadata.Any(kv => kv.Value.ElementDataType == TensorElementType.Float) || _session.OutputMetadata.Count == 0)
        {
            _session.Dispose();
            throw new Graph.OnnxGraphException($"Model '{_name}' needs a float input and an output to be run on samples.");
        }

        var input = _session.InputMetadata.First(kv => kv.Value.ElementDataType == TensorElementType.Float);
        _input = input.Key;
        _output = _session.OutputMetadata.Keys.First();
        var dims = input.Value.Dimensions;
        _sampleShape = dims.Skip(1).ToArray();
        _fixedBatch = dims[0] > 0 ? dims[0] : null;
    }

    /// <summary>Creates a session over a model.</summary>
    public ModelRunner(OnnxModel model) : this(model.ToBytes(), modelName: model.DisplayName)
    {
    }

    /// <summary>Values per sample.</summary>
    public int SampleSize => _sampleShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Runs the model on <paramref name="count"/> samples stored back to back; returns the outputs back to back.</summary>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>, also inside a run in progress.</exception>
    public float[] Run(ReadOnlySpan<float> samples, int count, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        using var run = new CancellableRunOptions(cancellationToken);
        int size = SampleSize;
        if (samples.Length != count * size)
            throw new ArgumentException($"{count} samples of {size} values need {count * size} values, got {samples.Length}.", nameof(samples));
        int batch = _fixedBatch ?? batchSize;
        var outputs = new List<float>();
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            var buffer = new float[n * size];
            samples.Slice(start * size, n * size).CopyTo(buffer);
            var tensor = new DenseTensor<float>(buffer, [n, .. _sampleShape]);
            using var results = OrtBoundary.Run(() => _session.Run([NamedOnnxValue.CreateFromTensor(_input, tensor)], [_output], run.Options), _name, $"score samples {start}..{start + n - 1}", cancellationToken);
            outputs.AddRange(results[0].AsEnumerable<float>());
        }

        return outputs.ToArray();
    }

    /// <summary>Top-1 accuracy of the model's outputs against <paramref name="labels"/>.</summary>
    public double Accuracy(ReadOnlySpan<float> samples, IReadOnlyList<int> labels, int batchSize = 256)
    {
        var logits = Run(samples, labels.Count, batchSize);
        return TopOneAgreement(logits, labels);
    }

    /// <summary>Share of rows of <paramref name="logits"/> whose arg-max equals the label.</summary>
    public static double TopOneAgreement(float[] logits, IReadOnlyList<int> labels)
    {
        int classes = logits.Length / labels.Count;
        int correct = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            if (ArgMax(logits.AsSpan(i * classes, classes)) == labels[i])
                correct++;
        }

        return (double)correct / labels.Count;
    }

    /// <summary>Index of the largest value (first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
                best = i;
        }

        return best;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
