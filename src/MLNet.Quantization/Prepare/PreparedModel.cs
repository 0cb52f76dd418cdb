using System.Diagnostics;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// A model after prepare: constants and BatchNorm folded, annotated, with one observer per shared group of edges.
/// Calibrate it with representative batches (static mode), then convert it to QDQ.
/// </summary>
public sealed partial class PreparedModel
{
    private readonly OnnxGraph _graph;
    private readonly QuantizationAnnotations _annotations;
    private readonly List<QuantGroup> _groups;
    private readonly Dictionary<QuantizationEdge, QuantGroup> _byEdge;
    private readonly long _floatBytes;
    private readonly PrepareOptions _options;
    private readonly Shapes.BatchOutcome _batch;
    private CalibrationProgress _calibration;
    private int _largestCalibrationBatch;
    private readonly bool _dynamicRequested;
    private readonly BackendRules _backend;
    private CheckSampleBuffer _checkSamples;
    private ObserverGroup[]? _groupViews;
    private IReadOnlyList<BiasCorrection.Target>? _biasTargets;
    private readonly Dictionary<BiasCorrection.Target, ChannelMeans> _inputMeans = [];

    internal PreparedModel(OnnxGraph graph, QuantizationAnnotations annotations, List<QuantGroup> groups, Dictionary<QuantizationEdge, QuantGroup> byEdge, long floatBytes, PrepareOptions options,
        Shapes.BatchOutcome? batch = null, bool dynamicRequested = false, BackendRules? backend = null)
    {
        _backend = backend ?? BackendRules.None;
        _dynamicRequested = dynamicRequested;
        _options = options;
        _checkSamples = NewCheckBuffer();
        _batch = batch ?? Shapes.BatchOutcome.AlreadySymbolic;
        _graph = graph;
        _annotations = annotations;
        _groups = groups;
        _byEdge = byEdge;
        _floatBytes = floatBytes;
    }

    /// <summary>How many conv pairs cross-layer equalization equalized; null when it was not asked for.</summary>
    internal int? EqualizedPairs { get; init; }

    /// <summary>How many MatMul/Gemm nodes SmoothQuant smoothed; null when it was not asked for.</summary>
    internal int? SmoothedLayers { get; init; }

    /// <summary>The unsmoothed float graph kept for <see cref="SmoothQuant"/>; null when no smoothing waits.</summary>
    internal PreparedFloatGraph? PendingSmoothing { get; init; }

    /// <summary>
    /// True when <see cref="PrepareOptions.SmoothQuantAlpha"/> was set without <see cref="PrepareOptions.SmoothQuantMaxima"/>:
    /// this model is annotated without smoothing, so that its <see cref="Graph"/>, <see cref="FixedBatchSize"/> and
    /// <see cref="CalibrationBatchSize"/> say how to feed it; call <see cref="SmoothQuant"/> with the calibration
    /// batches before calibrating.
    /// </summary>
    public bool NeedsSmoothQuant => PendingSmoothing is not null;

    /// <summary>
    /// SmoothQuant's measuring pass: runs the float graph prepare built (unsmoothed) on <paramref name="batches"/>,
    /// takes the per-input-channel max|X| of every activation a MatMul or Gemm with a constant weight reads, smooths
    /// that graph with <see cref="PrepareOptions.SmoothQuantAlpha"/> and annotates it again. The float graph is not
    /// built a second time. Give it the calibration batches (read once); then calibrate the model it returns.
    /// </summary>
    /// <param name="batches">Representative batches, as for <see cref="Calibrate"/>.</param>
    /// <param name="cancellationToken">Stops the runs.</param>
    /// <returns>The smoothed prepared model, ready to calibrate; this one is not changed.</returns>
    /// <example>
    /// <code language="csharp">
    /// var prepared = QuantizationFlow.Prepare(model, quantizer, new PrepareOptions { SmoothQuantAlpha = 0.5 });
    /// prepared = prepared.SmoothQuant(batches);
    /// prepared.Calibrate(batches);
    /// </code>
    /// </example>
    /// <exception cref="InvalidOperationException"><see cref="NeedsSmoothQuant"/> is false.</exception>
    /// <exception cref="ArgumentException">A batch does not match the model's inputs, or there are no batches.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    public PreparedModel SmoothQuant(IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var pending = PendingSmoothing ?? throw new InvalidOperationException(
            "This model waits for no smoothing: SmoothQuant applies once, to a model prepared with PrepareOptions.SmoothQuantAlpha and without SmoothQuantMaxima.");
        return QuantizationFlow.Smooth(pending, _options, batches, cancellationToken);
    }

    /// <summary>The prepared float graph (folded and annotated).</summary>
    public OnnxGraph Graph => _graph;

    /// <summary>
    /// The batch size the prepared graph requires, or null when it takes any batch size (also when a fixed batch was
    /// made symbolic, see <see cref="PrepareOptions.RelaxFixedBatch"/>). When set, give <see cref="Calibrate"/>
    /// batches of exactly this many samples.
    /// </summary>
    public int? FixedBatchSize => _batch.FixedBatchSize;

    /// <summary>The quantizer's annotations.</summary>
    public QuantizationAnnotations Annotations => _annotations;

    /// <summary>Number of observers (one per shared group that needs calibration or weight statistics).</summary>
    public int ObserverCount => _groups.Count(g => g.Observer is not null and not PlaceholderObserver);

    /// <summary>The activation tensors calibration observes.</summary>
    public IReadOnlyList<string> ObservedActivations =>
        _groups.Where(g => g.Kind == QuantGroupKind.Activation).SelectMany(g => g.Tensors).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Samples per calibration run for <paramref name="requested"/> asked for: the model's fixed batch if it has one, else
    /// <paramref name="requested"/> lowered so that the inputs and observed activations of one run fit in
    /// <see cref="PrepareOptions.CalibrationMemoryBudgetBytes"/> (at least 1).
    /// </summary>
    /// <example><c>prepared.Calibrate(data.Batches("input", prepared.CalibrationBatchSize(64)))</c></example>
    public int CalibrationBatchSize(int requested)
    {
        if (FixedBatchSize is { } fixedBatch)
            return fixedBatch;
        return CalibrationMemory.BatchSize(CalibrationBytesPerSample, _options.CalibrationMemoryBudgetBytes, requested);
    }

    /// <summary>The bytes per sample one calibration run holds (inputs and observed activations), 0 when shapes are unknown.</summary>
    internal long CalibrationBytesPerSample => _bytesPerSample ??= CalibrationMemory.BytesPerSample(CalibrationTensors()) ?? 0;

    private long? _bytesPerSample;

    private IEnumerable<ValueInfo?> CalibrationTensors()
    {
        var inputs = _graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var observed = ObservedActivations.Where(t => !inputs.ContainsKey(t)).ToList();
        var missing = observed.Where(t => _graph.GetValueInfo(t)?.Shape is null).ToList();
        var inferred = missing.Count > 0 ? OrtShapeInference.Infer(_graph, missing) : new Dictionary<string, ValueInfo>();
        return inputs.Values.Concat(observed.Select(t => _graph.GetValueInfo(t) is { Shape: not null } info ? info : inferred.GetValueOrDefault(t)));
    }

    /// <summary>True when static activations need calibration data before <see cref="Convert"/>.</summary>
    public bool NeedsCalibration => _groups.Any(g => g.Kind == QuantGroupKind.Activation);

    internal IReadOnlyList<QuantGroup> Groups => _groups;

    /// <summary>
    /// The shared groups, one per set of qparams, in a read-only view: which edges share it, its spec and its observer.
    /// Quantization-aware training fake-quantizes the edges of every group whose <see cref="ObserverGroup.IsFakeQuantized"/>
    /// is true, and feeds their observers while it trains.
    /// </summary>
    public IReadOnlyList<ObserverGroup> ObserverGroups => _groupViews ??= _groups.Select(g => new ObserverGroup(g)).ToArray();

    /// <summary>The nodes with at least one quantized input, in topological order.</summary>
    internal IReadOnlyList<OnnxNode> QuantizedNodes
    {
        get
        {
            var quantized = new HashSet<OnnxNode>(_byEdge.Keys.Where(e => e.IsInput).Select(e => e.Node), ReferenceEqualityComparer.Instance);
            return _graph.TopologicalOrder().Where(quantized.Contains).ToList();
        }
    }

    /// <summary>The group of every annotated edge (quantization-aware training fake-quantizes exactly these).</summary>
    internal IReadOnlyDictionary<QuantizationEdge, QuantGroup> GroupsByEdge => _byEdge;

    /// <summary>
    /// Starts every weight observer afresh and observes the weights <see cref="Graph"/> holds now. Call it after
    /// writing changed weights into the graph (quantization-aware training writes its trained weights back with
    /// <see cref="OnnxGraph.ReplaceInitializer"/>), so that <see cref="Convert"/> quantizes those weights with their
    /// own ranges.
    /// </summary>
    /// <exception cref="OnnxGraphException">A weight holds NaN or infinite values (named in the message).</exception>
    public void ReobserveWeights()
    {
        foreach (var group in _groups.Where(g => g.Kind == QuantGroupKind.Weight))
            group.Observer = group.Observer!.CreateEmpty();
        ObserveWeights();
    }

    /// <summary>
    /// Counts activation statistics fed to the groups' observers outside <see cref="Calibrate"/> (quantization-aware
    /// training observes while it trains), so that <see cref="Convert"/> accepts the model as calibrated and the
    /// report counts those batches and samples.
    /// </summary>
    /// <param name="observed">The batches, samples and time of the observation done outside <see cref="Calibrate"/>.</param>
    public void RecordObservations(CalibrationProgress observed) =>
        _calibration = new CalibrationProgress(_calibration.Batches + observed.Batches, _calibration.Samples + observed.Samples, _calibration.Elapsed + observed.Elapsed);

    internal void ObserveWeights()
    {
        foreach (var group in _groups.Where(g => g.Kind == QuantGroupKind.Weight))
        {
            foreach (var tensor in group.Tensors)
            {
                _graph.TryGetConstant(tensor, out var data);
                var shape = data!.Shape;
                var values = data.ToFloatArray();
                RequireFinite(tensor, values, "weight");
                group.Observer!.Observe(values, shape.Length == 0 ? [1] : shape);
            }
        }
    }

    /// <summary>
    /// Runs the float model in ONNX Runtime over <paramref name="batches"/> and updates the activation observers.
    /// Streams: nothing is kept between batches. Can be called more than once; statistics accumulate. A call that
    /// throws (a bad batch, cancellation, an ONNX Runtime failure) leaves the statistics as they were before it: each
    /// call observes into fresh observers that are merged in only when it completes.
    /// </summary>
    /// <param name="batches">Batches of model inputs, each a list with one tensor per model input (by name), batch dimension first; a fixed-batch model (<see cref="FixedBatchSize"/>) needs exactly that many samples per batch.</param>
    /// <param name="progress">Receives a report after each batch (samples so far, elapsed time); null for none.</param>
    /// <param name="totalSamples">How many samples <paramref name="batches"/> holds, when known, so that progress carries a fraction and an ETA; null to estimate it from a batch collection's count, or leave it unknown.</param>
    /// <param name="cancellationToken">Stops calibration between batches, leaving the statistics as they were.</param>
    /// <returns>What this call observed: batches, samples and time.</returns>
    /// <exception cref="ArgumentException">A batch does not match the model's inputs (named in the message), or there are no batches.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    /// <exception cref="OnnxGraphException">ONNX Runtime failed to load or run the model on a batch (the message names the model and ORT's node).</exception>
    public CalibrationProgress Calibrate(IEnumerable<IReadOnlyList<NamedTensor>> batches, IProgress<CalibrationProgress>? progress = null, long? totalSamples = null,
        CancellationToken cancellationToken = default)
    {
        if (NeedsSmoothQuant)
            throw new InvalidOperationException("PrepareOptions.SmoothQuantAlpha is set: call SmoothQuant with the calibration batches first, then calibrate the model it returns.");
        new StageReporter(_options.Progress, QuantizationStage.Calibrate).Step(
            $"calibrating {ObservedActivations.Count} activations{(totalSamples is { } n ? $" on {n} samples" : "")}");
        var byTensor = new Dictionary<string, List<Observer>>(StringComparer.Ordinal);
        var fresh = new List<(QuantGroup Group, Observer Observer)>();
        foreach (var group in _groups.Where(g => g.Kind == QuantGroupKind.Activation))
        {
            var observer = group.Observer!.CreateEmpty();
            fresh.Add((group, observer));
            foreach (var tensor in group.Tensors)
            {
                if (!byTensor.TryGetValue(tensor, out var list))
                    byTensor[tensor] = list = [];
                list.Add(observer);
            }
        }

        var freshMeans = new Dictionary<BiasCorrection.Target, ChannelMeans>();
        var meansByTensor = new Dictionary<string, List<ChannelMeans>>(StringComparer.Ordinal);
        foreach (var target in _options.BiasCorrection ? BiasTargets : [])
        {
            var means = freshMeans[target] = new ChannelMeans(target.Channels, target.Axis);
            if (!meansByTensor.TryGetValue(target.Input, out var list))
                meansByTensor[target.Input] = list = [];
            list.Add(means);
        }

        var calibrator = new Calibrator(_graph, byTensor, _options.CalibrationThreads, meansByTensor);
        var kept = _checkSamples.Samples > 0 ? null : NewCheckBuffer();
        var result = calibrator.Run(kept is null ? batches : batches.Select(b => { kept.Offer(Copy(b)); return b; }), progress, cancellationToken, totalSamples);
        if (kept is not null)
            _checkSamples = kept;
        _largestCalibrationBatch = Math.Max(_largestCalibrationBatch, calibrator.LargestBatch);
        foreach (var (group, observer) in fresh)
            group.Observer!.Merge(observer);
        foreach (var (target, means) in freshMeans)
        {
            if (_inputMeans.TryGetValue(target, out var held))
                held.Merge(means);
            else
                _inputMeans[target] = means;
        }

        RecordObservations(result);
        return result;
    }

    /// <summary>Computes qparams and writes the QDQ model. The prepared model is left as it was.</summary>
    /// <returns>The QDQ model with its <see cref="QuantizationReport"/>; save it with <see cref="QuantizedModel.Save(string, Onnx.OnnxSaveOptions?)"/>.</returns>
    /// <example>
    /// <code language="csharp">
    /// var prepared = QuantizationFlow.Prepare(OnnxModel.Load("cnn.onnx"), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
    /// prepared.Calibrate(batches);                 // IEnumerable&lt;IReadOnlyList&lt;NamedTensor&gt;&gt;
    /// QuantizedModel int8 = prepared.Convert();
    /// int8.Save("cnn.int8.onnx");
    /// Console.WriteLine(int8.Report);
    /// </code>
    /// </example>
    /// <exception cref="InvalidOperationException">Static activations were never calibrated.</exception>
    /// <exception cref="CalibrationException">Calibration saw no finite value for an observed tensor, or a derived (bias) scale is not a finite float (named in the message).</exception>
    /// <exception cref="OnnxGraphException">A bias holds NaN or infinite values (named in the message).</exception>
    public QuantizedModel Convert() => ConvertCore(countOrtKernels: true);

    /// <summary>
    /// <see cref="Convert()"/> without ORT's int8 census: the report's <see cref="QuantizationReport.OrtInt8"/> is null
    /// (the written model is not optimized by ORT once more). For the trials of a search; the model it returns gets the
    /// census from <see cref="QuantizedModel.WithOrtInt8Census"/>.
    /// </summary>
    internal QuantizedModel ConvertWithoutOrtCensus() => ConvertCore(countOrtKernels: false);

    private QuantizedModel ConvertCore(bool countOrtKernels)
    {
        if (NeedsCalibration && _calibration.Batches == 0)
            throw new InvalidOperationException("Static quantization needs calibration: call Calibrate with representative batches before Convert.");
        var stage = new StageReporter(_options.Progress, QuantizationStage.Convert);
        stage.Step($"computing quantization parameters ({_groups.Count} groups)");
        ComputeQParams();

        var graph = _graph.Clone();
        var map = new Dictionary<OnnxNode, OnnxNode>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _graph.Nodes.Count; i++)
            map[_graph.Nodes[i]] = graph.Nodes[i];
        var order = _graph.TopologicalOrder();
        var position = new Dictionary<OnnxNode, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < order.Count; i++)
            position[order[i]] = i;
        var edges = _byEdge
            .OrderBy(e => position[e.Key.Node]).ThenBy(e => e.Key.IsInput ? 0 : 1).ThenBy(e => e.Key.Index)
            .Select(e => (Edge: e.Key.IsInput ? QuantizationEdge.Input(map[e.Key.Node], e.Key.Index) : QuantizationEdge.Output(map[e.Key.Node], e.Key.Index), Group: e.Value))
            .ToList();
        int? biasCorrected = null;
        if (_options.BiasCorrection)
        {
            stage.Step($"correcting the biases of {BiasTargets.Count} layers");
            biasCorrected = BiasCorrection.Apply(BiasTargets, _inputMeans, _graph, graph, map, _byEdge, edges);
        }

        stage.Step($"writing QuantizeLinear/DequantizeLinear for {edges.Count} edges");
        var runtimeNodes = _backend.WriteRuntimeNodes(graph, edges);
        new QdqWriter(graph).Write(edges.Where(e => !runtimeNodes.Contains(e.Edge.Node)).ToList());
        _backend.RewriteQdqGraph(graph);
        var model = graph.ToModel();
        FloatReferenceMetadata.Write(model, _options);
        stage.Step(_checkSamples.Samples > 0 ? $"checking int8 against float on {_checkSamples.Samples} calibration samples" : "checking the quantized weights");
        var quality = QualityCheck.Run(_graph, graph, _checkSamples.Runs(CheckRunSamples()), _checkSamples.Samples > 0, _options);
        var quantized = new QuantizedModel(model, BuildReport(model, quality, biasCorrected));
        return countOrtKernels ? quantized.WithOrtInt8Census(stage) : quantized;
    }

    /// <summary>
    /// The most samples one run of the quality check takes: its float and QDQ sessions each return every quantization
    /// point's tensor, and the float values are kept until the QDQ run has read them, so a run holds about three times
    /// the bytes of a calibration run per sample; a quarter of the calibration budget keeps it within that budget.
    /// Null (the kept batches as they are) for a fixed-batch model or unknown sizes.
    /// </summary>
    private int? CheckRunSamples() =>
        FixedBatchSize is null && CalibrationBytesPerSample > 0
            ? CalibrationMemory.BatchSize(CalibrationBytesPerSample, Math.Max(1, _options.CalibrationMemoryBudgetBytes / 4), int.MaxValue)
            : null;

    /// <summary>The layers bias correction applies to, in graph order.</summary>
    private IReadOnlyList<BiasCorrection.Target> BiasTargets => _biasTargets ??= BiasCorrection.Targets(_graph, _byEdge);

    private CheckSampleBuffer NewCheckBuffer() => new(_options.QualityCheckSamples, 256L << 20);

    /// <summary>A copy of a batch, so that a producer reusing its arrays cannot change kept samples.</summary>
    private static IReadOnlyList<NamedTensor> Copy(IReadOnlyList<NamedTensor> batch) =>
        batch.Select(t => t.Floats is not null ? NamedTensor.FromFloats(t.Name, t.Floats.ToArray(), t.Shape.ToArray()) : NamedTensor.FromInt64(t.Name, t.Int64s!.ToArray(), t.Shape.ToArray())).ToList();

    private void ComputeQParams()
    {
        foreach (var group in _groups)
        {
            group.QParams = group.Kind switch
            {
                QuantGroupKind.Fixed => ((FixedQParamsQuantizationSpec)group.Spec).ToQParams(),
                QuantGroupKind.Activation when !group.Observer!.HasObservations =>
                    throw new CalibrationException($"Calibration saw no finite value for tensor(s) [{string.Join(", ", group.Tensors)}]; they cannot be quantized."),
                QuantGroupKind.Activation or QuantGroupKind.Weight => ObservedQParams(group),
                _ => null,
            };
        }

        foreach (var group in _groups.Where(g => g.Kind == QuantGroupKind.Derived))
        {
            var spec = (DerivedQuantizationSpec)group.Spec;
            GuardInt32Bias(group, spec);
            group.QParams = Derive(spec, group);
        }
    }

    /// <summary>An observer's qparams; a range no qparams can represent (e.g. NaN from overflowing values) names the tensors and nodes.</summary>
    private QParams ObservedQParams(QuantGroup group)
    {
        try
        {
            return group.Observer!.CalculateQParams();
        }
        catch (ArgumentException e)
        {
            string message = $"Cannot compute the qparams of {(group.Kind == QuantGroupKind.Weight ? "weight" : "activation")} [{string.Join(", ", group.Tensors)}] "
                + $"(read by node {Readers(group.Tensors)}): {e.Message} Its values overflow float32 arithmetic; fix the model, or leave that node in float.";
            if (group.Kind == QuantGroupKind.Weight)
                throw new OnnxGraphException(message, e);
            throw new CalibrationException(message, e);
        }
    }

    private QParams Derive(DerivedQuantizationSpec spec, QuantGroup group)
    {
        var sources = spec.DerivedFrom.Select(e => (_byEdge.GetValueOrDefault(e)?.QParams)
            ?? throw new InvalidOperationException($"Derived qparams of [{string.Join(", ", group.Tensors)}] need {e}, which has no static qparams.")).ToList();
        try
        {
            return spec.DeriveQParams(sources);
        }
        catch (ArgumentException e)
        {
            // e.g. s_in · s_w overflows float32 when calibration saw values near 1e30
            throw new CalibrationException(
                $"Cannot derive the qparams of [{string.Join(", ", group.Tensors)}] (read by node {Readers(group.Tensors)}) from scales "
                + $"[{string.Join(", ", sources.Select(s => string.Join("/", s.Scales.Take(4).Select(v => v.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)))))}]: {e.Message} "
                + "The calibrated or weight ranges are too wide; leave that node in float.", e);
        }
    }

    /// <summary>
    /// Guards int32 bias overflow when s_in · s_w is tiny (ORT issue #21000 class): where |bias| / (s_in · s_w) would
    /// pass int32's range, that channel's weight scale is raised just enough, as ORT's quantizer does.
    /// </summary>
    private void GuardInt32Bias(QuantGroup biasGroup, DerivedQuantizationSpec spec)
    {
        if (spec.DataType != QuantDataType.Int32 || spec.DerivedFrom.Count != 2)
            return;
        var weightGroup = _byEdge.GetValueOrDefault(spec.DerivedFrom[1]);
        var activation = _byEdge.GetValueOrDefault(spec.DerivedFrom[0])?.QParams;
        if (weightGroup?.QParams is not { } weight || activation is null || activation.IsPerChannel)
            return;
        var bias = biasGroup.Tensors.Select(t => _graph.TryGetConstant(t, out var d) ? d.ToFloatArray() : null).FirstOrDefault(b => b is not null);
        if (bias is null)
            return;
        RequireFinite(biasGroup.Tensors.First(), bias, "bias");
        const double limit = int.MaxValue * 0.999;
        var scales = (float[])weight.Scales.Clone();
        bool changed = false;
        for (int c = 0; c < bias.Length; c++)
        {
            int wc = weight.IsPerChannel ? c : 0;
            double needed = Math.Abs((double)bias[c]) / (activation.Scale * (double)scales[wc]);
            if (needed > limit)
            {
                scales[wc] = (float)(Math.Abs((double)bias[c]) / (activation.Scale * limit));
                changed = true;
            }
        }

        int overflowing = Array.FindIndex(scales, v => !float.IsFinite(v));
        if (overflowing >= 0)
        {
            throw new CalibrationException(
                $"The bias '{biasGroup.Tensors.First()}' (read by node {Readers(biasGroup.Tensors)}) cannot fit int32 at any float32 weight scale: channel {overflowing} would need a weight scale above 3.4e38. Fix the model, or leave that node in float.");
        }

        if (changed)
            weightGroup.QParams = new QParams(scales, weight.ZeroPoints, weight.DataType, weight.Axis, weight.QuantMin, weight.QuantMax);
    }

    /// <summary>Non-finite weights or biases have no quantized form; the model itself is broken, so say where.</summary>
    private void RequireFinite(string tensor, float[] values, string role)
    {
        int bad = 0;
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
                bad++;
        }

        if (bad > 0)
        {
            throw new OnnxGraphException(
                $"The {role} '{tensor}' (read by node {Readers([tensor])}) holds {bad} NaN or infinite value(s) of {values.Length}; it cannot be quantized. Fix the model, or leave that node in float.");
        }
    }

    /// <summary>The quoted names of the nodes reading <paramref name="tensors"/>, for messages.</summary>
    private string Readers(IEnumerable<string> tensors) =>
        string.Join(", ", tensors.SelectMany(t => _graph.GetConsumers(t)).Select(c => $"'{c.Node.Name}'").Distinct());

    private QuantizationReport BuildReport(Onnx.OnnxModel model, QualityFigures quality, int? biasCorrected)
    {
        var quantized = new Dictionary<string, int>(StringComparer.Ordinal);
        var quantizedNodes = new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);
        foreach (var edge in _byEdge.Keys.Where(e => e.IsInput))
            quantizedNodes.Add(edge.Node);
        foreach (var node in quantizedNodes)
            quantized[node.OpType] = quantized.GetValueOrDefault(node.OpType) + 1;

        var leftInFloat = _annotations.SkippedNodes.Select(s => new FloatNode(s.NodeName, s.OpType, s.Reason)).ToList();
        var named = new HashSet<string>(leftInFloat.Select(f => f.Name), StringComparer.Ordinal);
        foreach (var node in _graph.Nodes.Where(n => _backend.ReportedComputeOps.Contains(n.OpType) && !quantizedNodes.Contains(n) && !named.Contains(n.Name)))
            leftInFloat.Add(new FloatNode(node.Name, node.OpType, "not annotated by the quantizer"));
        bool dynamic = _dynamicRequested || _groups.Any(g => g.Kind == QuantGroupKind.Dynamic);
        var biasWarning = biasCorrected == 0 && BiasTargets.Count > 0 && _inputMeans.Count == 0
            ? [$"bias correction corrected none of {BiasTargets.Count} layers: it needs the per-channel input means Calibrate collects, and statistics loaded from a file (or observed outside Calibrate) carry none"]
            : Array.Empty<string>();
        return new QuantizationReport(dynamic ? "dynamic" : "static", quantized, leftInFloat, _floatBytes, model.Proto.CalculateSize(), _calibration.Elapsed, _calibration.Samples,
            new BatchSummary(_batch.FixedBatchSize, _batch.Note, _largestCalibrationBatch), [.. ReportWarnings.For(dynamic, quantized, _graph), .. quality.Warnings, .. biasWarning], quality)
        {
            BiasCorrectedLayers = biasCorrected,
            EqualizedPairs = EqualizedPairs,
            SmoothedLayers = SmoothedLayers,
            FullRangeProducts = !dynamic && HasWideGroup(QuantGroupKind.Activation, QuantDataType.UInt8) && HasWideGroup(QuantGroupKind.Weight, QuantDataType.Int8),
        };
    }

    /// <summary>Whether a group of the kind and type quantizes onto more than 7 bits (more than 128 levels).</summary>
    private bool HasWideGroup(QuantGroupKind kind, QuantDataType type) =>
        _groups.Any(g => g.Kind == kind && g.Spec is QuantizationSpec { DataType: var t } spec && t == type
            && QParamsCalculator.QuantRange(spec.ToObserverOptions()) is var (min, max) && max - min > 127);
}
