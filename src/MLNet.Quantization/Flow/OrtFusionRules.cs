using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizer;

namespace MLNet.Quantization;

/// <summary>
/// Completes static annotations so that ONNX Runtime can fuse every quantized Conv, Gemm and MatMul. ORT turns
/// <c>DQ → Conv → Q</c> into QLinearConv (and absorbs a Relu or a Clip between the op and its Q), so a quantized op
/// whose output is not quantized anywhere (X86InductorQuantizer leaves conv+add outputs float because Inductor fuses
/// the add; ORT cannot) gets an output spec equal to its input activation spec. This is a deliberate divergence from
/// PT2E placement, like the int32 bias, and changes nothing for ops whose outputs are already quantized.
/// </summary>
internal static class OrtFusionRules
{
    private static readonly HashSet<string> Fusable = new(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul" };

    public static void CompleteOutputs(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        foreach (var node in graph.TopologicalOrder())
        {
            if (!Fusable.Contains(node.OpType) || annotations.Get(node) is not { } annotation)
                continue;
            if (!annotation.InputQSpecMap.TryGetValue(0, out var inputSpec) || inputSpec is not QuantizationSpec { IsDynamic: false } spec)
                continue;
            if (!annotation.InputQSpecMap.ContainsKey(1))
                continue;

            // follow a lone Relu / Clip after the op, which ORT folds into the quantized op
            var last = node;
            while (graph.GetConsumers(last.Outputs[0]) is [{ Node: { OpType: "Relu" or "Clip" } next }] && !graph.IsGraphOutput(last.Outputs[0]))
                last = next;
            string output = last.Outputs[0];
            if (graph.IsGraphOutput(output) || IsQuantizedSomewhere(graph, annotations, last, output))
                continue;
            annotations.GetOrCreate(last).OutputQSpec = spec;
            annotations.GetOrCreate(last).Annotated = true;
        }
    }

    private static bool IsQuantizedSomewhere(OnnxGraph graph, QuantizationAnnotations annotations, OnnxNode producer, string tensor)
    {
        if (annotations.Get(producer)?.OutputQSpec is not null)
            return true;
        foreach (var use in graph.GetConsumers(tensor))
        {
            if (annotations.Get(use.Node)?.InputQSpecMap.ContainsKey(use.InputIndex) == true)
                return true;
        }

        return false;
    }
}
