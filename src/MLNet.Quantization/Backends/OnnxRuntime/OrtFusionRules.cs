using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// Completes static annotations so that ONNX Runtime can fuse every quantized Conv, Gemm and MatMul, and every Add or
/// Mul with both inputs quantized (into QLinearAdd / QLinearMul). ORT turns
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
            if (annotations.Get(node) is not { } annotation || OutputSpecToFuse(graph, node, annotation) is not { } spec)
                continue;

            // follow a lone Relu / Clip after the op, which ORT folds into the quantized op
            var last = node;
            while (graph.GetConsumers(last.Outputs[0]) is [{ Node: { OpType: "Relu" or "Clip" } next }] && !graph.IsGraphOutput(last.Outputs[0]))
                last = next;
            string output = last.Outputs[0];
            if (graph.IsGraphOutput(output))
                continue;
            if (IsQuantizedSomewhere(graph, annotations, last, output))
            {
                ShareWithFloatConsumers(graph, annotations, last, output);
                continue;
            }

            annotations.GetOrCreate(last).OutputQSpec = spec;
            annotations.GetOrCreate(last).Annotated = true;
        }
    }

    /// <summary>
    /// The spec a fused output takes: a Conv, Gemm or MatMul's input activation spec when its activation (0) and weight
    /// (1) are quantized; for an Add or Mul (QLinearAdd, QLinearMul) with both inputs quantized, the spec of its first
    /// input that is not a constant. Null when the node would not fuse.
    /// </summary>
    private static QuantizationSpec? OutputSpecToFuse(OnnxGraph graph, OnnxNode node, QuantizationAnnotation annotation)
    {
        var map = annotation.InputQSpecMap;
        if (!map.ContainsKey(0) || !map.ContainsKey(1))
            return null;
        if (Fusable.Contains(node.OpType))
            return map[0] as QuantizationSpec is { IsDynamic: false } spec ? spec : null;
        if (node.OpType is not ("Add" or "Mul") || !node.IsDefaultDomain || node.Inputs.Count != 2)
            return null;
        int activation = graph.TryGetConstant(node.Inputs[0], out _) ? 1 : 0;
        return map[activation] is QuantizationSpec { IsDynamic: false } elementwise && map[1 - activation] is QuantizationSpec { IsDynamic: false }
            ? elementwise
            : null;
    }

    /// <summary>
    /// An output read by a quantized consumer and by float ones (e.g. a Conv feeding a quantized Conv and the Add and
    /// Mul of a float hard-swish) keeps ORT from fusing its producer: ORT's QDQ Conv selector needs every reader of
    /// the output to be a QuantizeLinear, and otherwise runs the Conv in float on dequantized weights. Sharing the
    /// quantized consumer's spec as the output spec gives every float reader a DequantizeLinear of that same
    /// QuantizeLinear, so the producer fuses and the float readers see the values the quantized path sees.
    /// </summary>
    private static void ShareWithFloatConsumers(OnnxGraph graph, QuantizationAnnotations annotations, OnnxNode producer, string tensor)
    {
        if (annotations.Get(producer)?.OutputQSpec is not null)
            return;
        var uses = graph.GetConsumers(tensor);
        var quantized = uses.FirstOrDefault(u => annotations.Get(u.Node)?.InputQSpecMap.TryGetValue(u.InputIndex, out var s) == true && s is QuantizationSpec { IsDynamic: false });
        if (quantized.Node is null || uses.All(u => annotations.Get(u.Node)?.InputQSpecMap.ContainsKey(u.InputIndex) == true))
            return;
        annotations.GetOrCreate(producer).OutputQSpec = new SharedQuantizationSpec(QuantizationEdge.Input(quantized.Node, quantized.InputIndex));
        annotations.GetOrCreate(producer).Annotated = true;
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

    /// <summary>
    /// Swaps a float Relu or Clip with the MaxPool it feeds when the pool's output goes only to a QuantizeLinear, so that
    /// the activation sits right before the Q. ORT's QDQ propagation otherwise moves that Q back above the pool (a MaxPool
    /// of opset 12 to 21 whose input has one reader), and ORT then pools in uint8 in NCHW layout with a slow generic
    /// kernel; after the swap the propagation stops at the activation, ORT folds the activation into the Q, and the
    /// pool runs in fp32. The values are unchanged: max(act(x)) = act(max(x)) for a non-decreasing act.
    /// </summary>
    /// <returns>The number of pools moved.</returns>
    public static int MovePoolsBeforeFloatActivations(OnnxGraph graph)
    {
        int moved = 0;
        foreach (var pool in graph.TopologicalOrder())
        {
            if (pool.OpType != "MaxPool" || !pool.IsDefaultDomain || pool.Inputs.Count != 1 || pool.Outputs.Count != 1)
                continue;
            string pooled = pool.Outputs[0];
            if (graph.IsGraphOutput(pooled) || graph.GetConsumers(pooled) is not [{ Node.OpType: "QuantizeLinear", InputIndex: 0 }])
                continue;
            if (graph.GetProducer(pool.Inputs[0]) is not { OpType: "Relu" or "Clip" } act || !act.IsDefaultDomain
                || graph.IsGraphOutput(act.Outputs[0]) || graph.GetConsumers(act.Outputs[0]).Count != 1
                || act.Inputs.Skip(1).Any(bound => bound.Length > 0 && !graph.TryGetConstant(bound, out _)))
                continue;

            // x -> act -> a -> pool -> pooled   becomes   x -> pool -> m -> act -> pooled
            var newPool = pool.Proto.Clone();
            var newAct = act.Proto.Clone();
            string middle = graph.UniqueName(pooled + "_before_" + act.OpType.ToLowerInvariant());
            newPool.Input[0] = act.Inputs[0];
            newPool.Output[0] = middle;
            newAct.Input[0] = middle;
            newAct.Output[0] = pooled;
            graph.RemoveNode(pool, replacingProducer: true);
            graph.RemoveNode(act, replacingProducer: true);
            graph.AddNode(newPool);
            graph.AddNode(newAct);
            moved++;
        }

        return moved;
    }
}
