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

    /// <summary>Creates a session over the model bytes.</summary>
    public ModelRunner(byte[] model, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL, int intraOpThreads = 0)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = intraOpThreads };
        _session = new InferenceSession(model, options);
        var input = _session.InputMetadata.First(kv => kv.Value.ElementDataType == TensorElementType.Float);
        _input = input.Key;
        _output = _session.OutputMetadata.Keys.First();
        var dims = input.Value.Dimensions;
        _sampleShape = dims.Skip(1).ToArray();
        _fixedBatch = dims[0] > 0 ? dims[0] : null;
    }

    /// <summary>Creates a session over a model.</summary>
    public ModelRunner(OnnxModel model) : this(model.ToBytes())
    {
    }

    /// <summary>Values per sample.</summary>
    public int SampleSize => _sampleShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Runs the model on <paramref name="count"/> samples stored back to back; returns the outputs back to back.</summary>
    public float[] Run(ReadOnlySpan<float> samples, int count, int batchSize = 256)
    {
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
            using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, tensor)], [_output]);
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
