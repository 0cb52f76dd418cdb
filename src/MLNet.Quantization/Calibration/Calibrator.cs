using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// Runs the float graph in ONNX Runtime with every observed activation added as an extra graph output (ORT's own
/// calibrator technique, so every op ORT runs is covered) and feeds each batch's values to the observers.
/// Nothing is kept between batches.
/// </summary>
/// <remarks>
/// Each batch runs in two phases that each use every core: ORT computes the batch (its intra-op threads do not spin
/// afterwards), then the observers digest it, distinct observers in parallel. Overlapping the two phases was measured
/// slower on 2 cores: ORT's parallel loops stall whenever an observer preempts one of their threads. Outputs are read in
/// place from ORT's buffers through the <see cref="OrtValue"/> API, without copies.
/// </remarks>
internal sealed class Calibrator
{
    private readonly OnnxGraph _graph;
    private readonly Dictionary<string, List<Observer>> _observers;
    private readonly Dictionary<string, List<ChannelMeans>> _means;

    private readonly int _threads;

    /// <param name="graph">The float graph.</param>
    /// <param name="observersByTensor">The observers of each observed tensor.</param>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 lets ORT choose.</param>
    /// <param name="meansByTensor">Per-channel means to feed alongside the observers (bias correction); null for none.</param>
    public Calibrator(OnnxGraph graph, Dictionary<string, List<Observer>> observersByTensor, int threads = 0, Dictionary<string, List<ChannelMeans>>? meansByTensor = null)
    {
        _threads = threads;
        _graph = graph;
        _observers = observersByTensor;
        _means = meansByTensor ?? [];
    }

    private bool IsObserved(string tensor) => _observers.ContainsKey(tensor) || _means.ContainsKey(tensor);

    /// <summary>The most samples one run of <see cref="Run"/> fed at once (dimension 0 of the first input).</summary>
    public int LargestBatch { get; private set; }

    /// <summary>Runs every batch and feeds the observers; <paramref name="totalSamples"/> (or a batch collection's count) gives progress its total.</summary>
    public CalibrationProgress Run(IEnumerable<IReadOnlyList<NamedTensor>> batches, IProgress<CalibrationProgress>? progress, CancellationToken cancellationToken, long? totalSamples = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var watch = Stopwatch.StartNew();
        var inputs = _graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var fetched = _observers.Keys.Concat(_means.Keys.Where(t => !_observers.ContainsKey(t))).Where(t => !inputs.ContainsKey(t)).ToArray();
        string modelName = Runtime.OrtBoundary.ModelName(_graph);
        cancellationToken.ThrowIfCancellationRequested();
        using var session = InstrumentedSession.Create(_graph, fetched, GraphOptimizationLevel.ORT_ENABLE_ALL, _threads, modelName, "calibrate it", allowSpinning: false);
        using var run = new Runtime.CancellableRunOptions(cancellationToken);
        int batchCount = 0;
        long samples = 0;
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var feeds = Validate(batch, inputs);
            FiniteInputCheck.Require(feeds, batchCount + 1);
            var inputValues = feeds.Select(ToOrtValue).ToArray();
            try
            {
                using var results = fetched.Length > 0
                    ? Runtime.OrtBoundary.Run(() => session.Run(run.Options, feeds.Select(f => f.Name).ToArray(), inputValues, fetched), modelName, $"calibrate it (batch {batchCount + 1})", cancellationToken)
                    : null;
                ObserveAll(ObservedTensors(feeds, fetched, results), cancellationToken);
            }
            finally
            {
                foreach (var value in inputValues)
                    value.Dispose();
            }

            batchCount++;
            int batchSamples = batch.Count > 0 && batch[0].Shape.Length > 0 ? batch[0].Shape[0] : 1;
            samples += batchSamples;
            LargestBatch = Math.Max(LargestBatch, batchSamples);
            if (totalSamples is null && batchCount == 1 && batches.TryGetNonEnumeratedCount(out int batchTotal))
                totalSamples = (long)batchTotal * batchSamples; // an estimate: the last batch may be smaller
            progress?.Report(new CalibrationProgress(batchCount, samples, watch.Elapsed) { TotalSamples = totalSamples is { } t ? Math.Max(t, samples) : null });
        }

        if (batchCount == 0)
            throw new ArgumentException("Calibration got no batches; static quantization needs at least one batch of representative data.", nameof(batches));
        return new CalibrationProgress(batchCount, samples, watch.Elapsed);
    }

    /// <summary>An ORT value over the tensor's own array (pinned, not copied).</summary>
    private static OrtValue ToOrtValue(NamedTensor tensor)
    {
        long[] shape = tensor.Shape.Select(d => (long)d).ToArray();
        return tensor.Floats is not null
            ? OrtValue.CreateTensorValueFromMemory(tensor.Floats, shape)
            : OrtValue.CreateTensorValueFromMemory(tensor.Int64s!, shape);
    }

    /// <summary>One observed float tensor of a batch: a model input's array, or an ORT output read in place.</summary>
    private readonly record struct ObservedTensor(string Name, float[]? Array, OrtValue? Value, int[] Shape)
    {
        public ReadOnlySpan<float> Values => Array ?? Value!.GetTensorDataAsSpan<float>();
    }

    /// <summary>The observed float tensors of one batch, in a fixed order: model inputs first, then fetched outputs.</summary>
    private List<ObservedTensor> ObservedTensors(List<NamedTensor> feeds, string[] fetched, IReadOnlyList<OrtValue>? results)
    {
        var list = new List<ObservedTensor>();
        foreach (var tensor in feeds)
        {
            if (tensor.Floats is not null && IsObserved(tensor.Name))
                list.Add(new ObservedTensor(tensor.Name, tensor.Floats, null, tensor.Shape));
        }

        for (int i = 0; i < (results?.Count ?? 0); i++)
        {
            var value = results![i];
            var info = value.GetTensorTypeAndShape();
            if (info.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                continue;
            list.Add(new ObservedTensor(fetched[i], null, value, info.Shape.Select(d => checked((int)d)).ToArray()));
        }

        return list;
    }

    /// <summary>
    /// Feeds the tensors to their observers. Distinct observers run in parallel; one observer (a shared group may
    /// watch several tensors) gets its tensors one after the other, in the list's order, so results are deterministic.
    /// </summary>
    private void ObserveAll(List<ObservedTensor> tensors, CancellationToken cancellationToken)
    {
        var byObserver = new Dictionary<Observer, List<int>>(ReferenceEqualityComparer.Instance);
        var order = new List<Observer>();
        for (int i = 0; i < tensors.Count; i++)
        {
            foreach (var observer in _observers.GetValueOrDefault(tensors[i].Name) ?? [])
            {
                if (!byObserver.TryGetValue(observer, out var indices))
                {
                    byObserver[observer] = indices = [];
                    order.Add(observer);
                }

                indices.Add(i);
            }
        }

        // largest work first, so that the big tensors do not start last and leave one core idle (a stable sort)
        var largestFirst = order.OrderByDescending(o => byObserver[o].Sum(i => tensors[i].Shape.Aggregate(1L, (x, y) => x * y))).ToList();
        Parallel.ForEach(largestFirst, new ParallelOptions { CancellationToken = cancellationToken }, observer =>
        {
            foreach (int i in byObserver[observer])
                observer.Observe(tensors[i].Values, tensors[i].Shape);
        });
        if (_means.Count == 0)
            return;
        var meanWork = tensors.SelectMany(t => (_means.GetValueOrDefault(t.Name) ?? []).Select(m => (Tensor: t, Means: m))).ToList();
        Parallel.ForEach(meanWork, new ParallelOptions { CancellationToken = cancellationToken }, work => work.Means.Observe(work.Tensor.Values, work.Tensor.Shape));
    }

    /// <summary>ORT feeds for a batch as NamedOnnxValues, checked against the graph's inputs.</summary>
    internal static List<NamedOnnxValue> BuildFeeds(IReadOnlyList<NamedTensor> batch, Dictionary<string, ValueInfo> inputs) =>
        Validate(batch, inputs).Select(t => t.Floats is not null
            ? NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<float>(t.Floats, t.Shape))
            : NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<long>(t.Int64s!, t.Shape))).ToList();

    /// <summary>A batch's tensors, checked against the graph's inputs (names, rank, fixed dimensions, element type).</summary>
    private static List<NamedTensor> Validate(IReadOnlyList<NamedTensor> batch, Dictionary<string, ValueInfo> inputs)
    {
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (var tensor in batch)
        {
            if (!inputs.TryGetValue(tensor.Name, out var info))
                throw new ArgumentException($"Batch has tensor '{tensor.Name}', but the model's inputs are [{string.Join(", ", inputs.Keys)}].");
            if (info.Shape is { } shape)
            {
                if (shape.Count != tensor.Shape.Length)
                    throw new ArgumentException($"Input '{tensor.Name}' expects rank {shape.Count} ([{string.Join(", ", shape)}]) but the batch has shape [{string.Join(", ", tensor.Shape)}].");
                for (int i = 0; i < shape.Count; i++)
                {
                    if (shape[i].Value is long fixedDim && fixedDim != tensor.Shape[i])
                        throw new ArgumentException($"Input '{tensor.Name}' expects dimension {i} = {fixedDim} ([{string.Join(", ", shape)}]) but the batch has shape [{string.Join(", ", tensor.Shape)}].");
                }
            }

            bool wantsFloat = info.ElementType is TensorElementTypeFloat;
            if (wantsFloat && tensor.Floats is null)
                throw new ArgumentException($"Input '{tensor.Name}' is float but the batch holds int64 values.");
            if (info.ElementType is TensorElementTypeInt64 && tensor.Int64s is null)
                throw new ArgumentException($"Input '{tensor.Name}' is int64 but the batch holds float values.");
            if (info.ElementType is not (TensorElementTypeFloat or TensorElementTypeInt64))
                throw new ArgumentException($"Input '{tensor.Name}' has element type {info.ElementType}; calibration batches carry float32 or int64 inputs only.");
            byName[tensor.Name] = tensor;
        }

        var missing = inputs.Keys.Where(k => !byName.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"Batch lacks model input(s) [{string.Join(", ", missing)}].");
        return byName.Values.ToList();
    }

    private const MLNet.Quantization.Graph.TensorElementType TensorElementTypeFloat = MLNet.Quantization.Graph.TensorElementType.Float;
    private const MLNet.Quantization.Graph.TensorElementType TensorElementTypeInt64 = MLNet.Quantization.Graph.TensorElementType.Int64;
}
