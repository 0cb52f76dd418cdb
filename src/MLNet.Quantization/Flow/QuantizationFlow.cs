using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.VersionConversion;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Quantizer;
using MLNet.Quantization.Shapes;

namespace MLNet.Quantization;

/// <summary>
/// The PT2E-style entry points: <see cref="Prepare(OnnxModel, Quantizer.Quantizer, PrepareOptions?)"/> (fold constants
/// and BatchNorm, annotate, insert observers), then <see cref="PreparedModel.Calibrate"/> and
/// <see cref="PreparedModel.Convert"/>.
/// </summary>
public static class QuantizationFlow
{
    /// <summary>The opset per-channel QuantizeLinear/DequantizeLinear need; older models are converted to it.</summary>
    internal const int RequiredOpset = 13;

    /// <summary>Prepares a model for quantization with <paramref name="quantizer"/>; the model itself is not changed.</summary>
    /// <exception cref="OpsetConversionException">The model's opset is below 13 and a node in it cannot be converted to 13.</exception>
    /// <exception cref="QuantizationAnnotationException">The quantizer's annotations are inconsistent.</exception>
    /// <exception cref="OnnxGraphException">ONNX Runtime cannot load the model (the message names the node), a weight is not
    /// finite, the model has more nodes than <see cref="PrepareOptions.MaxNodeCount"/>, or it is already quantized (it holds
    /// QuantizeLinear, DequantizeLinear, QLinear*, MatMulInteger, ConvInteger or DynamicQuantizeLinear nodes).</exception>
    /// <exception cref="ArgumentException"><see cref="PrepareOptions.InputShapes"/> names an input the model does not have (the message lists them) or contradicts its shape.</exception>
    public static PreparedModel Prepare(OnnxModel model, Quantizer.Quantizer quantizer, PrepareOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(quantizer);
        options ??= new PrepareOptions();
        ModelAdmission.CheckNotQuantized(model, ModelAdmission.CheckSize(model, options));
        long floatBytes = model.Proto.CalculateSize();
        var graph = PrepareFloatGraph(model, options, out var batch);

        var annotations = Annotate(graph, quantizer);

        if (options.CompleteForOrtFusion)
            OrtFusionRules.CompleteOutputs(graph, annotations);
        annotations.Validate(graph);
        var (groups, byEdge) = SpecResolver.Resolve(graph, annotations);
        var prepared = new PreparedModel(graph, annotations, groups, byEdge, floatBytes, options, batch);
        prepared.ObserveWeights();
        return prepared;
    }

    /// <summary>
    /// The float graph the quantizer works on: unique node names, opset 13, constants and BatchNorm folded as
    /// <paramref name="options"/> say. Deterministic, so the numeric suite rebuilds the same graph (and tensor names)
    /// from the float model to compare a quantized model against.
    /// </summary>
    internal static OnnxGraph PrepareFloatGraph(OnnxModel model, PrepareOptions options) => PrepareFloatGraph(model, options, out _);

    /// <summary>As <see cref="PrepareFloatGraph(OnnxModel, PrepareOptions)"/>, also saying what was done about a fixed batch dimension.</summary>
    internal static OnnxGraph PrepareFloatGraph(OnnxModel model, PrepareOptions options, out BatchOutcome batch)
    {
        ModelAdmission.CheckSize(model, options);
        var graph = OnnxGraph.FromModel(model);
        graph.EnsureUniqueNodeNames();
        InputShapeOverrides.Apply(graph, options.InputShapes);
        Runtime.OrtBoundary.CheckLoads(graph, "check it before quantizing");
        long opset = graph.GetOpsetVersion();
        if (opset < RequiredOpset)
        {
            OnnxOpsetConverter.Convert(graph, RequiredOpset);
            Runtime.OrtBoundary.CheckLoadsAfterConversion(graph, opset, RequiredOpset);
        }

        if (options.FoldConstants)
            ConstantFoldingPass.Run(graph);
        if (options.FoldBatchNorm)
            BatchNormFoldingPass.Run(graph);
        if (options.RelaxFixedBatch)
            (graph, batch) = FixedBatchRelaxation.Run(graph);
        else
            batch = FixedBatchRelaxation.Describe(graph);
        return graph;
    }

    private static QuantizationAnnotations Annotate(OnnxGraph graph, Quantizer.Quantizer quantizer)
    {
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations);
        return annotations;
    }
}
