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
internal sealed class Calibrator
{
    private readonly OnnxGraph _graph;
    private readonly Dictionary<string, List<Observer>> _observers;

    private readonly int _threads;

    public Calibrator(OnnxGraph graph, Dictionary<string, List<Observer>> observersByTensor, int threads = 0)
    {
        _threads = threads;
        _graph = graph;
        _observers = observersByTensor;
    }

    public CalibrationProgress Run(IEnumerable<IReadOnlyList<NamedTensor>> batches, IProgress<CalibrationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var watch = Stopwatch.StartNew();
        var inputs = _graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var fetched = _observers.Keys.Where(t => !inputs.ContainsKey(t)).ToList();
        string modelName = Runtime.OrtBoundary.ModelName(_graph);
        using var session = InstrumentedSession.Create(_graph, fetched, GraphOptimizationLevel.ORT_ENABLE_ALL, _threads, modelName, "calibrate it");
        int batchCount = 0;
        long samples = 0;
        // Pipelined: while the observers digest batch i (on a worker), ONNX Runtime computes batch i + 1. Each
        // observer still sees its tensors in batch order, so the statistics equal a sequential run.
        Task? observing = null;
        IDisposable? observedResults = null;
        try
        {
            foreach (var batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var feeds = BuildFeeds(batch, inputs);
                var results = fetched.Count > 0
                    ? Runtime.OrtBoundary.Run(() => session.Run(feeds, fetched), modelName, $"calibrate it (batch {batchCount + 1})")
                    : null;
                Finish(ref observing, ref observedResults);
                var work = ObservedTensors(batch, results);
                observedResults = results;
                observing = Task.Run(() => ObserveAll(work), cancellationToken);

                batchCount++;
                samples += batch.Count > 0 && batch[0].Shape.Length > 0 ? batch[0].Shape[0] : 1;
                progress?.Report(new CalibrationProgress(batchCount, samples, watch.Elapsed));
            }

            Finish(ref observing, ref observedResults);
        }
        finally
        {
            if (observing is not null)
            {
                try
                {
                    observing.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                    // the first failure is already propagating
                }
            }

            observedResults?.Dispose();
        }

        if (batchCount == 0)
            throw new ArgumentException("Calibration got no batches; static quantization needs at least one batch of representative data.", nameof(batches));
        return new CalibrationProgress(batchCount, samples, watch.Elapsed);
    }

    /// <summary>Waits for the observation of the previous batch (rethrowing its failure) and releases its ORT outputs.</summary>
    private static void Finish(ref Task? observing, ref IDisposable? observedResults)
    {
        try
        {
            observing?.GetAwaiter().GetResult();
        }
        finally
        {
            observing = null;
            observedResults?.Dispose();
            observedResults = null;
        }
    }

    /// <summary>The observed float tensors of one batch, in a fixed order: model inputs first, then fetched outputs.</summary>
    private List<(string Name, Memory<float> Values, int[] Shape)> ObservedTensors(IReadOnlyList<NamedTensor> batch, IReadOnlyCollection<DisposableNamedOnnxValue>? results)
    {
        var list = new List<(string, Memory<float>, int[])>();
        foreach (var tensor in batch)
        {
            // copied: the caller's enumerator may reuse its buffers while this batch is still being observed
            if (tensor.Floats is not null && _observers.ContainsKey(tensor.Name))
                list.Add((tensor.Name, tensor.Floats.ToArray(), tensor.Shape.ToArray()));
        }

        foreach (var result in results ?? [])
        {
            if (result.ElementType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                continue;
            var t = (DenseTensor<float>)result.AsTensor<float>();
            list.Add((result.Name, t.Buffer, t.Dimensions.ToArray()));
        }

        return list;
    }

    /// <summary>
    /// Feeds the tensors to their observers. Distinct observers run in parallel; one observer (a shared group may
    /// watch several tensors) gets its tensors one after the other, in the list's order, so results are deterministic.
    /// </summary>
    private void ObserveAll(List<(string Name, Memory<float> Values, int[] Shape)> tensors)
    {
        var byObserver = new Dictionary<Observer, List<int>>(ReferenceEqualityComparer.Instance);
        var order = new List<Observer>();
        for (int i = 0; i < tensors.Count; i++)
        {
            foreach (var observer in _observers[tensors[i].Name])
            {
                if (!byObserver.TryGetValue(observer, out var indices))
                {
                    byObserver[observer] = indices = [];
                    order.Add(observer);
                }

                indices.Add(i);
            }
        }

        Parallel.ForEach(order, observer =>
        {
            foreach (int i in byObserver[observer])
                observer.Observe(tensors[i].Values.Span, tensors[i].Shape);
        });
    }

    /// <summary>ORT feeds for a batch, checked against the graph's inputs (names, rank, fixed dimensions, element type).</summary>
    internal static List<NamedOnnxValue> BuildFeeds(IReadOnlyList<NamedTensor> batch, Dictionary<string, ValueInfo> inputs)
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
        return byName.Values.Select(t => t.Floats is not null
            ? NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<float>(t.Floats, t.Shape))
            : NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<long>(t.Int64s!, t.Shape))).ToList();
    }

    private const MLNet.Quantization.Graph.TensorElementType TensorElementTypeFloat = MLNet.Quantization.Graph.TensorElementType.Float;
    private const MLNet.Quantization.Graph.TensorElementType TensorElementTypeInt64 = MLNet.Quantization.Graph.TensorElementType.Int64;
}
