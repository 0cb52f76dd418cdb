using System.Diagnostics;
using Microsoft.ML;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.TorchSharp.Qat;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp;

/// <summary>
/// A model prepared for quantization-aware training: a trainable TorchSharp <see cref="Module"/> that fake-quantizes
/// exactly the edges the post-training flow would quantize, over the prepared (constant- and BatchNorm-folded) graph.
/// Optionally <see cref="Calibrate"/> first (initialises the observers, as post-training quantization does), then
/// <see cref="Train(float[], int[], QatTrainingOptions, IProgress{QatProgress}?, CancellationToken)"/>, then
/// <see cref="Convert"/> to the same QDQ ONNX model post-training quantization writes.
/// </summary>
public sealed class QatModel : IDisposable
{
    private readonly PreparedModel _prepared;
    private readonly int[] _sampleShape;
    private bool _disposed;

    internal QatModel(PreparedModel prepared, GraphModule module)
    {
        _prepared = prepared;
        Module = module;
        var input = prepared.Graph.Inputs.Count == 1 ? prepared.Graph.Inputs[0] : null;
        _sampleShape = input?.Shape is { Count: > 0 } shape && shape.Skip(1).All(d => d.Value is > 0)
            ? shape.Skip(1).Select(d => checked((int)d.Value!.Value)).ToArray()
            : [];
    }

    /// <summary>The trainable module (graph interpreter with fake quantization).</summary>
    public GraphModule Module { get; }

    /// <summary>The module's trainable parameters (weights, biases, normalisation scales).</summary>
    public IReadOnlyList<Parameter> Parameters => Module.parameters().ToList();

    /// <summary>The prepared model: its graph, annotations and observers.</summary>
    public PreparedModel Prepared => _prepared;

    /// <summary>The shape of one sample (the model input without its batch axis).</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>
    /// Runs the model, with its current weights, in ONNX Runtime over <paramref name="batches"/> to initialise the
    /// activation observers before training (the post-training calibration pass).
    /// </summary>
    public CalibrationProgress Calibrate(IEnumerable<IReadOnlyList<NamedTensor>> batches, IProgress<CalibrationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteWeightsToGraph();
        return _prepared.Calibrate(batches, progress, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Trains on <paramref name="features"/> (samples in C order, <see cref="SampleShape"/> each) and class
    /// <paramref name="labels"/>, with fake quantization and observers active.
    /// </summary>
    /// <exception cref="ArgumentException">The data sizes do not match the model input or each other, or a label is negative.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the weights keep the steps taken so far.</exception>
    public QatTrainingResult Train(float[] features, int[] labels, QatTrainingOptions options, IProgress<QatProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int sampleSize = CheckData(features, labels);
        var loss = options.Loss ?? CrossEntropy;
        manual_seed(options.Seed);
        var random = new Random(options.Seed);
        int count = labels.Length;
        int batches = (count + options.BatchSize - 1) / options.BatchSize;
        var order = Enumerable.Range(0, count).ToArray();
        var losses = new List<double>();
        var watch = Stopwatch.StartNew();
        using var optimizer = options.OptimizerFactory?.Invoke(Module.parameters()) ?? optim.Adam(Module.parameters(), options.LearningRate);
        Module.train();
        int steps = 0;
        long samples = 0;
        try
        {
            for (int epoch = 1; epoch <= options.Epochs; epoch++)
            {
                if (options.Shuffle)
                    random.Shuffle(order);
                double sum = 0;
                for (int b = 0; b < batches; b++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int start = b * options.BatchSize, n = Math.Min(options.BatchSize, count - start);
                    double value = Step(features, labels, order.AsSpan(start, n), sampleSize, optimizer, loss);
                    sum += value;
                    steps++;
                    samples += n;
                    progress?.Report(new QatProgress(epoch, b + 1, batches, value, sum / (b + 1), watch.Elapsed));
                }

                losses.Add(sum / batches);
            }
        }
        finally
        {
            Module.eval();
            _prepared.RecordObservations(new CalibrationProgress(steps, samples, watch.Elapsed));
        }

        return new QatTrainingResult(losses, steps, samples, watch.Elapsed);
    }

    /// <summary>
    /// Trains on an ML.NET data view: <paramref name="featureColumn"/> a float vector of the model input's size,
    /// <paramref name="labelColumn"/> the class (key, integer or float type). The rows are read into memory first.
    /// </summary>
    public QatTrainingResult Train(IDataView data, string featureColumn, string labelColumn, QatTrainingOptions options, IProgress<QatProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (features, labels) = DataViewSamples.Read(data, featureColumn, labelColumn, SampleSizeOrThrow());
        return Train(features, labels, options, progress, cancellationToken);
    }

    /// <summary>Top-1 accuracy of the fake-quantized module (observers frozen) on <paramref name="features"/>.</summary>
    public double Evaluate(float[] features, int[] labels, int batchSize = 256)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int sampleSize = CheckData(features, labels);
        Module.eval();
        int correct = 0;
        using var noGrad = no_grad();
        for (int start = 0; start < labels.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, labels.Length - start);
            var x = tensor(features.AsSpan(start * sampleSize, n * sampleSize).ToArray(), [n, .. _sampleShape.Select(d => (long)d)]);
            var predicted = Module.forward(x).reshape(n, -1).argmax(1).data<long>().ToArray();
            for (int i = 0; i < n; i++)
                correct += predicted[i] == labels[start + i] ? 1 : 0;
        }

        return (double)correct / labels.Length;
    }

    /// <summary>
    /// Writes the trained weights into the prepared graph, observes them afresh, and converts to QDQ ONNX exactly as
    /// post-training quantization does (activation qparams from the observers trained along).
    /// </summary>
    /// <exception cref="InvalidOperationException">Static activations were never observed (neither calibrated nor trained).</exception>
    public QuantizedModel Convert()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WriteWeightsToGraph();
        _prepared.ReobserveWeights();
        return _prepared.Convert();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Module.Dispose();
    }

    private double Step(float[] features, int[] labels, ReadOnlySpan<int> indices, int sampleSize, optim.Optimizer optimizer, Func<Tensor, Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        int n = indices.Length;
        var x = new float[n * sampleSize];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            features.AsSpan(indices[i] * sampleSize, sampleSize).CopyTo(x.AsSpan(i * sampleSize));
            y[i] = labels[indices[i]];
        }

        optimizer.zero_grad();
        var output = Module.forward(tensor(x, [n, .. _sampleShape.Select(d => (long)d)]));
        var value = loss(output, tensor(y));
        value.backward();
        optimizer.step();
        return value.item<float>();
    }

    private static Tensor CrossEntropy(Tensor output, Tensor labels)
    {
        if (output.dim() != 2 || output.shape[0] != labels.shape[0])
            throw new ArgumentException($"Cross-entropy needs logits [N, classes] for N labels; the model output has shape [{string.Join(", ", output.shape)}] for {labels.shape[0]} labels.");
        long classes = output.shape[1];
        long max = labels.max().item<long>();
        if (max >= classes)
            throw new ArgumentException($"Label {max} is outside the model's {classes} classes (0 to {classes - 1}).");
        return nn.functional.cross_entropy(output, labels);
    }

    private int CheckData(float[] features, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        int sampleSize = SampleSizeOrThrow();
        if (labels.Length == 0)
            throw new ArgumentException("There are no samples.", nameof(labels));
        if ((long)labels.Length * sampleSize != features.Length)
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} samples of shape [{string.Join(", ", _sampleShape)}] ({sampleSize} values each).", nameof(features));
        int bad = Array.FindIndex(labels, l => l < 0);
        if (bad >= 0)
            throw new ArgumentException($"Label {bad} is {labels[bad]}; class labels start at 0.", nameof(labels));
        return sampleSize;
    }

    private int SampleSizeOrThrow()
    {
        if (_sampleShape.Length == 0)
            throw new InvalidOperationException("Training from arrays needs a model with one input of fixed shape apart from the batch axis; use Module directly otherwise.");
        return _sampleShape.Aggregate(1, (a, b) => checked(a * b));
    }

    private void WriteWeightsToGraph()
    {
        var graph = _prepared.Graph;
        foreach (var (name, parameter) in Module.Weights)
        {
            if (!graph.Initializers.TryGetValue(name, out var current))
                continue;
            using var values = parameter.detach().contiguous();
            graph.ReplaceInitializer(TensorData.FromFloats(name, current.Dims.ToArray(), values.data<float>().ToArray()));
        }
    }
}
