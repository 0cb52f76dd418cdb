using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Runs the float reference and the quantized model on the same batches and measures, at every activation
/// quantization point, the float tensor against the quantized model's dequantized value, plus the model outputs.
/// </summary>
/// <remarks>
/// A quantization point is a QuantizeLinear (or DynamicQuantizeLinear) of a non-constant tensor; its float counterpart
/// is the tensor of the same name in the float reference (see <see cref="FloatReference"/>), and the quantized side is
/// the output of a DequantizeLinear reading it (all the duplicated DequantizeLinear nodes of one QuantizeLinear hold the
/// same values). Intermediate values come from sessions with the tensors added as graph outputs: the float reference as
/// calibration runs it (ORT_ENABLE_ALL), the QDQ graph as written (ORT_DISABLE_ALL, so nothing is fused away from an
/// observed tensor). Model outputs come from the quantized model as deployed (ORT_ENABLE_ALL, int8 kernels).
/// </remarks>
internal sealed class ActivationComparison
{
    private readonly OnnxGraph _reference;
    private readonly OnnxGraph _quantized;
    private readonly List<QuantizationPoint> _points = [];
    private readonly List<UnmatchedTensor> _unmatched = [];

    private sealed record QuantizationPoint(string Tensor, string Dequantized, string Producer, IReadOnlyList<string> Consumers)
    {
        public SqnrAccumulator Energy;
        public string? Failure;
    }

    public ActivationComparison(OnnxGraph reference, OnnxGraph quantized)
    {
        _reference = reference;
        _quantized = quantized;
        Match();
    }

    public (List<ActivationSqnr> Activations, List<OutputSqnr> Outputs, List<UnmatchedTensor> Unmatched, long Samples) Run(
        IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var inputs = _reference.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var floatFetches = _points.Select(p => p.Tensor).Where(t => !inputs.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToList();
        var quantizedOutputs = new HashSet<string>(_quantized.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        var outputs = _reference.Outputs.Where(o => o.ElementType == Graph.TensorElementType.Float && quantizedOutputs.Contains(o.Name)).Select(o => o.Name).ToList();
        var outputEnergy = new SqnrAccumulator[outputs.Count];
        var agreements = new long[outputs.Count];
        var ranks = new int[outputs.Count];

        using var floatSession = InstrumentedSession.Create(_reference, floatFetches, GraphOptimizationLevel.ORT_ENABLE_ALL);
        using var qdqSession = InstrumentedSession.Create(_quantized, _points.Select(p => p.Dequantized), GraphOptimizationLevel.ORT_DISABLE_ALL);
        using var deployed = InstrumentedSession.Create(_quantized, [], GraphOptimizationLevel.ORT_ENABLE_ALL, purpose: "score it as deployed");
        using var run = new Runtime.CancellableRunOptions(cancellationToken);
        long samples = 0;
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var feeds = Calibrator.BuildFeeds(batch, inputs);
            var floats = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var t in batch.Where(t => t.Floats is not null))
                floats[t.Name] = t.Floats!;
            using (var results = Runtime.OrtBoundary.Run(() => floatSession.Run(feeds, floatFetches.Concat(outputs).Distinct(StringComparer.Ordinal).ToList(), run.Options), OrtBoundary.ModelName(_reference), "compare it", cancellationToken))
            {
                foreach (var r in results.Where(r => r.ElementType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float))
                    floats[r.Name] = r.AsTensor<float>().ToArray();
            }

            if (_points.Count > 0)
            {
                using var results = Runtime.OrtBoundary.Run(() => qdqSession.Run(feeds, _points.Select(p => p.Dequantized).ToList(), run.Options), OrtBoundary.ModelName(_quantized), "compare it", cancellationToken);
                var byName = results.ToDictionary(r => r.Name, StringComparer.Ordinal);
                foreach (var point in _points.Where(p => p.Failure is null))
                    Accumulate(point, floats.GetValueOrDefault(point.Tensor), byName[point.Dequantized]);
            }

            using (var results = Runtime.OrtBoundary.Run(() => deployed.Run(feeds, outputs, run.Options), OrtBoundary.ModelName(_quantized), "score it as deployed", cancellationToken))
            {
                for (int i = 0; i < outputs.Count; i++)
                {
                    var tensor = results.First(r => r.Name == outputs[i]).AsTensor<float>();
                    var q = tensor.ToArray();
                    var f = floats[outputs[i]];
                    outputEnergy[i].Add(f, q);
                    ranks[i] = tensor.Dimensions.Length;
                    if (tensor.Dimensions.Length == 2 && tensor.Dimensions[1] > 1)
                        agreements[i] += Agreeing(f, q, tensor.Dimensions[1]);
                }
            }

            samples += batch.Count > 0 && batch[0].Shape.Length > 0 ? batch[0].Shape[0] : 1;
        }

        if (samples == 0)
            throw new ArgumentException("The comparison got no batches; pass at least one batch of samples.", nameof(batches));
        var activations = _points.Where(p => p.Failure is null)
            .Select(p => new ActivationSqnr(p.Tensor, p.Dequantized, p.Producer, p.Consumers, p.Energy.Decibels)).ToList();
        var unmatched = _unmatched.Concat(_points.Where(p => p.Failure is not null).Select(p => new UnmatchedTensor(p.Tensor, p.Failure!))).ToList();
        var outputResults = outputs.Select((name, i) => new OutputSqnr(name, outputEnergy[i].Decibels, ranks[i] == 2 ? (double)agreements[i] / samples : null)).ToList();
        return (activations, outputResults, unmatched, samples);
    }

    private static void Accumulate(QuantizationPoint point, float[]? reference, DisposableNamedOnnxValue value)
    {
        if (reference is null || value.ElementType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
        {
            point.Failure = "the float model does not compute it as a float tensor";
            return;
        }

        var quantized = value.AsTensor<float>().ToArray();
        if (quantized.Length != reference.Length)
        {
            point.Failure = $"the float tensor has {reference.Length} values per batch but the dequantized one {quantized.Length}";
            return;
        }

        point.Energy.Add(reference, quantized);
    }

    private static long Agreeing(float[] reference, float[] quantized, int classes)
    {
        long same = 0;
        for (int row = 0; row + classes <= reference.Length; row += classes)
        {
            if (ModelRunner.ArgMax(reference.AsSpan(row, classes)) == ModelRunner.ArgMax(quantized.AsSpan(row, classes)))
                same++;
        }

        return same;
    }

    private void Match()
    {
        foreach (var q in _quantized.TopologicalOrder().Where(n => n.OpType is "QuantizeLinear" or "DynamicQuantizeLinear"))
        {
            string tensor = q.Inputs[0];
            if (_quantized.TryGetConstant(tensor, out _))
                continue; // a quantized constant: the weight comparison covers it
            var dequantizers = FloatReference.Dequantizers(_quantized, q.Outputs[0]).Select(d => d.Node).ToList();
            if (dequantizers.Count == 0)
            {
                _unmatched.Add(new UnmatchedTensor(tensor, $"no DequantizeLinear reads {q.OpType} '{q.Name}'"));
                continue;
            }

            var producer = _reference.GetProducer(tensor);
            if (producer is null && !_reference.IsGraphInput(tensor))
            {
                _unmatched.Add(new UnmatchedTensor(tensor, "the float model has no tensor of this name"));
                continue;
            }

            if (FloatReference.ConsumerMismatch(_reference, tensor, _quantized, tensor) is { } mismatch)
            {
                _unmatched.Add(new UnmatchedTensor(tensor, mismatch));
                continue;
            }

            var consumers = dequantizers.SelectMany(d => _quantized.GetConsumers(d.Outputs[0])).Select(c => c.Node.Name).Distinct(StringComparer.Ordinal).ToList();
            string producerName = producer is null ? "graph input" : $"{producer.OpType} '{producer.Name}'";
            _points.Add(new QuantizationPoint(tensor, dequantizers[0].Outputs[0], producerName, consumers));
        }
    }
}
