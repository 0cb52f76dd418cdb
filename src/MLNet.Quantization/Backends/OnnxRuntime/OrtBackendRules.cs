using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// <see cref="BackendRules.OnnxRuntime"/>: the prepare- and convert-time rules for ONNX Runtime's CPU execution provider
/// (<see cref="OrtFusionRules"/>, <see cref="OrtDynamicGemm"/>).
/// </summary>
internal sealed class OrtBackendRules : BackendRules
{
    public static OrtBackendRules Instance { get; } = new();

    private OrtBackendRules()
    {
    }

    internal override void CompleteAnnotations(OnnxGraph graph, QuantizationAnnotations annotations) =>
        OrtFusionRules.CompleteOutputs(graph, annotations);

    internal override IReadOnlySet<OnnxNode> WriteRuntimeNodes(OnnxGraph graph, IReadOnlyList<(QuantizationEdge Edge, QuantGroup Group)> edges) =>
        OrtDynamicGemm.Write(graph, edges);

    internal override void RewriteQdqGraph(OnnxGraph graph)
    {
        OrtFusionRules.MovePoolsBeforeFloatActivations(graph);
        OrtScaleFolding.FoldScalarScalesIntoDequantize(graph);
        OrtLinearBiasFusion.FuseBiasIntoGemm(graph);
    }
}
