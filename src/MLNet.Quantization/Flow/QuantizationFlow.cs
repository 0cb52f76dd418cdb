using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.VersionConversion;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Shapes;

namespace MLNet.Quantization;

/// <summary>
/// The PT2E-style entry points: <see cref="Prepare(OnnxModel, Quantizer, PrepareOptions?, CancellationToken)"/> (fold constants
/// and BatchNorm, annotate, insert observers), then <see cref="PreparedModel.Calibrate"/> and
/// <see cref="PreparedModel.Convert"/>.
/// </summary>
public static class QuantizationFlow
{
    /// <summary>The opset per-channel QuantizeLinear/DequantizeLinear need; older models are converted to it.</summary>
    internal const int RequiredOpset = 13;

    /// <summary>
    /// Prepares a model for quantization with <paramref name="quantizer"/>, as PT2E's <c>prepare_pt2e</c>: converts an
    /// opset below 13, folds constants and BatchNorm, lets the quantizer annotate the graph, resolves shared specs and
    /// inserts one observer per group. The model itself is not changed.
    /// </summary>
    /// <param name="model">The float ONNX model (opset 7 and up; Constant-node weights and external data are fine).</param>
    /// <param name="quantizer">Says what to quantize and how, for example <c>new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig())</c>.</param>
    /// <param name="options">Folding, input shapes and fixed-batch handling; null for the defaults.</param>
    /// <param name="cancellationToken">Stops prepare, also inside a running ONNX Runtime evaluation (constant folding, the batch check).</param>
    /// <returns>The prepared model: calibrate it (static mode), then <see cref="PreparedModel.Convert"/>.</returns>
    /// <example>
    /// <code language="csharp">
    /// var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: false));
    /// var prepared = QuantizationFlow.Prepare(OnnxModel.Load("model.onnx"), quantizer,
    ///     new PrepareOptions { InputShapes = new Dictionary&lt;string, int[]&gt; { ["x"] = [1, 3, 224, 224] } });
    /// Console.WriteLine($"{prepared.ObserverCount} observers on {prepared.ObservedActivations.Count} activations");
    /// </code>
    /// </example>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="quantizer"/> is null.</exception>
    /// <exception cref="OpsetConversionException">The model's opset is below 13 and a node in it cannot be converted to 13.</exception>
    /// <exception cref="QuantizationAnnotationException">The quantizer's annotations are inconsistent.</exception>
    /// <exception cref="OnnxGraphException">ONNX Runtime cannot load the model (the message names the node), a weight is not
    /// finite, constant folding would make a tensor over <see cref="PrepareOptions.MaxFoldedTensorBytes"/> (named in the message),
    /// the model has more nodes than <see cref="PrepareOptions.MaxNodeCount"/>, or it is already quantized (it holds
    /// QuantizeLinear, DequantizeLinear, QLinear*, MatMulInteger, ConvInteger or DynamicQuantizeLinear nodes).</exception>
    /// <exception cref="ArgumentException"><see cref="PrepareOptions.InputShapes"/> names an input the model does not have (the message lists them) or contradicts its shape.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>, also while ONNX Runtime runs the model (constant folding, the batch-dimension check).</exception>
    public static PreparedModel Prepare(OnnxModel model, Quantizer quantizer, PrepareOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(quantizer);
        options ??= new PrepareOptions();
        ModelAdmission.CheckNotQuantized(model, ModelAdmission.CheckSize(model, options));
        long floatBytes = model.Proto.CalculateSize();
        var stage = new StageReporter(options.Progress, QuantizationStage.Prepare);
        CheckSmoothQuant(options, quantizer);
        var graph = PrepareFloatGraph(model, options, out var batch, out var equalization, stage, cancellationToken);
        var floatGraph = new PreparedFloatGraph(graph, quantizer, floatBytes, batch, equalization?.Pairs);
        if (options.SmoothQuantAlpha is { } alpha)
        {
            if (options.SmoothQuantMaxima is null)
                return Annotate(floatGraph with { Graph = graph.Clone() }, options, stage, cancellationToken, pendingSmoothing: floatGraph);
            stage.Step("smoothing the activations of MatMul/Gemm inputs");
            return Annotate(floatGraph, options, stage, cancellationToken, smoothedLayers: SmoothQuantPass.Run(graph, options.SmoothQuantMaxima, alpha).Layers);
        }

        return Annotate(floatGraph, options, stage, cancellationToken);
    }

    /// <summary>
    /// SmoothQuant's second half of prepare: measures the per-channel maxima on <paramref name="floatGraph"/> (the
    /// unsmoothed float graph prepare built, read once from <paramref name="batches"/>), smooths it and annotates it.
    /// </summary>
    internal static PreparedModel Smooth(PreparedFloatGraph floatGraph, PrepareOptions options, IEnumerable<IReadOnlyList<Calibration.NamedTensor>> batches, CancellationToken cancellationToken)
    {
        var stage = new StageReporter(options.Progress, QuantizationStage.Prepare);
        var maxima = MeasureMaxima(floatGraph.Graph, batches, options.CalibrationThreads, cancellationToken);
        stage.Step("smoothing the activations of MatMul/Gemm inputs");
        var smoothing = SmoothQuantPass.Run(floatGraph.Graph, maxima, options.SmoothQuantAlpha!.Value);
        return Annotate(floatGraph, options, stage, cancellationToken, smoothedLayers: smoothing.Layers);
    }

    /// <summary>Prepare after the float graph: annotates it, resolves the shared specs and observes the weights.</summary>
    private static PreparedModel Annotate(PreparedFloatGraph floatGraph, PrepareOptions options, StageReporter stage, CancellationToken cancellationToken,
        int? smoothedLayers = null, PreparedFloatGraph? pendingSmoothing = null)
    {
        cancellationToken.ThrowIfCancellationRequested();

        var (graph, quantizer) = (floatGraph.Graph, floatGraph.Quantizer);
        stage.Step("annotating");
        var annotations = Annotate(graph, quantizer);

        if (options.CompleteForOrtFusion)
            quantizer.Backend.CompleteAnnotations(graph, annotations);
        annotations.Validate(graph);
        var (groups, byEdge) = SpecResolver.Resolve(graph, annotations);
        var prepared = new PreparedModel(graph, annotations, groups, byEdge, floatGraph.FloatBytes, options, floatGraph.Batch,
            dynamicRequested: quantizer is X86Quantizer { IsDynamicMode: true }, backend: quantizer.Backend)
        {
            EqualizedPairs = floatGraph.EqualizedPairs,
            SmoothedLayers = smoothedLayers,
            PendingSmoothing = pendingSmoothing,
        };
        stage.Step($"observing weights ({prepared.ObserverCount} observers)");
        prepared.ObserveWeights();
        return prepared;
    }

    /// <summary>
    /// SmoothQuant's first pass: runs the float graph as <see cref="Prepare"/> would prepare it (without smoothing) on
    /// <paramref name="batches"/> and returns the per-input-channel max|X| of every activation that a MatMul or Gemm
    /// with a constant weight reads, by tensor name, for <see cref="PrepareOptions.SmoothQuantMaxima"/>. Give it the
    /// calibration batches; they are read once.
    /// </summary>
    /// <param name="model">The float model.</param>
    /// <param name="batches">Representative batches, as for <see cref="PreparedModel.Calibrate"/>.</param>
    /// <param name="options">The prepare options that will be used (folding, input shapes); null for the defaults.</param>
    /// <param name="cancellationToken">Stops the runs.</param>
    /// <returns>Per-channel maxima by tensor name (empty when the model has no such MatMul/Gemm).</returns>
    /// <exception cref="ArgumentException">A batch does not match the model's inputs, or there are no batches.</exception>
    /// <exception cref="OnnxGraphException">ONNX Runtime cannot load or run the model.</exception>
    public static IReadOnlyDictionary<string, float[]> MeasureSmoothQuantMaxima(OnnxModel model, IEnumerable<IReadOnlyList<Calibration.NamedTensor>> batches,
        PrepareOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        options ??= new PrepareOptions();
        return MeasureMaxima(PrepareFloatGraph(model, options, out _, null, cancellationToken), batches, options.CalibrationThreads, cancellationToken);
    }

    /// <summary>The per-channel max|X| of every activation SmoothQuant would smooth in <paramref name="graph"/>, over <paramref name="batches"/>.</summary>
    private static Dictionary<string, float[]> MeasureMaxima(OnnxGraph graph, IEnumerable<IReadOnlyList<Calibration.NamedTensor>> batches, int threads, CancellationToken cancellationToken)
    {
        var statistics = new Dictionary<string, List<Calibration.ChannelMeans>>(StringComparer.Ordinal);
        foreach (var target in SmoothQuantPass.FindTargets(graph))
            statistics[target.Activation] = [new Calibration.ChannelMeans(target.Channels, -1)];
        if (statistics.Count > 0)
            new Calibration.Calibrator(graph, [], threads, statistics).Run(batches, null, cancellationToken);
        return statistics.ToDictionary(p => p.Key, p => p.Value[0].AbsMaxima(), StringComparer.Ordinal);
    }

    private static void CheckSmoothQuant(PrepareOptions options, Quantizer quantizer)
    {
        var combination = new OptionCombination(Static: quantizer is not X86Quantizer { IsDynamicMode: true }, options.SmoothQuantAlpha);
        switch (combination.Check())
        {
            case OptionConflict.SmoothQuantAlphaOutOfRange:
                throw new ArgumentOutOfRangeException(nameof(options), options.SmoothQuantAlpha, "PrepareOptions.SmoothQuantAlpha must lie in (0, 1].");
            case OptionConflict.SmoothQuantNeedsStatic:
                throw new ArgumentException("SmoothQuant needs static quantization: dynamic mode measures activation ranges at run time, after the smoothing.", nameof(options));
        }
    }

    /// <summary>
    /// The float graph the quantizer works on: unique node names, opset 13, constants and BatchNorm folded as
    /// <paramref name="options"/> say. Deterministic, so the numeric suite rebuilds the same graph (and tensor names)
    /// from the float model to compare a quantized model against.
    /// </summary>
    internal static OnnxGraph PrepareFloatGraph(OnnxModel model, PrepareOptions options) => PrepareFloatGraph(model, options, out _);

    /// <summary>As <see cref="PrepareFloatGraph(OnnxModel, PrepareOptions)"/>, also saying what was done about a fixed batch dimension.</summary>
    internal static OnnxGraph PrepareFloatGraph(OnnxModel model, PrepareOptions options, out BatchOutcome batch, StageReporter? stage = null, CancellationToken cancellationToken = default) =>
        PrepareFloatGraph(model, options, out batch, out _, stage, cancellationToken);

    /// <summary>As <see cref="PrepareFloatGraph(OnnxModel, PrepareOptions, out BatchOutcome, StageReporter?, CancellationToken)"/>, also saying what cross-layer equalization did (null when not asked for).</summary>
    private static OnnxGraph PrepareFloatGraph(OnnxModel model, PrepareOptions options, out BatchOutcome batch, out CrossLayerEqualizationPass.Outcome? equalization,
        StageReporter? stage, CancellationToken cancellationToken)
    {
        ModelAdmission.CheckSize(model, options);
        cancellationToken.ThrowIfCancellationRequested();
        var graph = OnnxGraph.FromModel(model);
        graph.EnsureUniqueNodeNames();
        InputShapeOverrides.Apply(graph, options.InputShapes);
        stage?.Step($"checking ONNX Runtime loads the model ({graph.Nodes.Count} nodes)");
        Runtime.OrtBoundary.CheckLoads(graph, "check it before quantizing");
        long opset = graph.GetOpsetVersion();
        if (opset < RequiredOpset)
        {
            stage?.Step($"converting opset {opset} to {RequiredOpset}");
            OnnxOpsetConverter.Convert(graph, RequiredOpset);
            Runtime.OrtBoundary.CheckLoadsAfterConversion(graph, opset, RequiredOpset);
        }

        if (options.FoldConstants)
        {
            stage?.Step("folding constants");
            FoldConstants(graph, options, cancellationToken);
        }

        if (options.FoldBatchNorm)
        {
            stage?.Step("folding BatchNorm");
            BatchNormFoldingPass.Run(graph);
        }

        equalization = null;
        if (options.CrossLayerEqualization)
        {
            stage?.Step("equalizing the weight ranges of conv pairs");
            equalization = CrossLayerEqualizationPass.Run(graph);
        }

        stage?.Step("checking the batch dimension");
        if (options.RelaxFixedBatch)
            (graph, batch) = FixedBatchRelaxation.Run(graph, cancellationToken);
        else
            batch = FixedBatchRelaxation.Describe(graph);
        return graph;
    }

    /// <summary>
    /// Folds constants within the limits. A node left unfolded for its work stays and runs at inference; one left for
    /// the size of its output is refused, since ONNX Runtime would have to make that tensor too, on every run.
    /// </summary>
    private static void FoldConstants(OnnxGraph graph, PrepareOptions options, CancellationToken cancellationToken)
    {
        var outcome = ConstantFoldingPass.Run(graph, FoldingLimits.For(graph, options.MaxFoldedTensorBytes), cancellationToken);
        if (outcome.Unfolded.FirstOrDefault(u => u.OverSize) is { } big)
        {
            throw new OnnxGraphException(
                $"Model '{Runtime.OrtBoundary.ModelName(graph)}': node '{big.Node.Name}' ({big.Node.OpType}) computes a constant from constants, and {big.Reason}; ONNX Runtime would have to make it too. If the model is meant to, raise the limit (PrepareOptions.MaxFoldedTensorBytes, CLI --max-folded-bytes).");
        }
    }

    private static QuantizationAnnotations Annotate(OnnxGraph graph, Quantizer quantizer)
    {
        quantizer.TransformForAnnotation(graph);
        var snapshot = GraphSnapshot.Take(graph);
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations);
        if (snapshot.FindChange(graph) is { } change)
            throw new QuantizationAnnotationException(
                $"{quantizer.GetType().Name} changed the graph while annotating ({change}); a quantizer changes the graph only in TransformForAnnotation.");
        return annotations;
    }
}
