using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// Steps 2 and 3: pools, layout ops and Concat run in int8 when their inputs come from quantized patterns, and their
/// outputs share their input's parameters.
/// </summary>
internal sealed partial class X86Annotator
{
    private void AnnotatePropagation(OnnxNode node)
    {
        if (node.Inputs.Count == 0 || node.Inputs[0].Length == 0)
            return;
        var choice = _quantizer.Resolve(node);
        if (!choice.Found)
        {
            _reasons[node] = choice.Source;
            return;
        }

        if (choice.Config is null)
        {
            KeepFloat([node], choice);
            return;
        }

        if (choice.Config.InputActivation is not { } act)
        {
            _reasons[node] = $"the config from {choice.Source} does not quantize activations";
            return;
        }

        if (node.OpType == "Concat")
        {
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                if (!IsFromQuantizedPattern(node.Inputs[i]))
                {
                    _reasons[node] = $"its input '{node.Inputs[i]}' does not come from a quantized pattern";
                    return;
                }
            }

            var map = new Dictionary<int, QuantizationSpecBase> { [0] = act };
            var shareFirst = new SharedQuantizationSpec(QuantizationEdge.Input(node, 0));
            for (int i = 1; i < node.Inputs.Count; i++)
                map[i] = shareFirst;
            Annotate(node, map);
            _patternOutputs.Add(node);
            return;
        }

        if (node.OpType == "Flatten" && !_graph.GetConsumers(node.Outputs[0]).Any(c => X86Ops.Quantizable.Contains(c.Node.OpType)))
        {
            _reasons[node] = "no consumer of its output runs in int8";
            return;
        }

        if (node.OpType is "Reshape" or "Transpose" && !FeedsInt8Consumer(node.Outputs[0], depth: 0))
        {
            _reasons[node] = "no consumer of its output runs in int8";
            return;
        }

        if (!IsFromQuantizedPattern(node.Inputs[0]))
        {
            _reasons[node] = "its input does not come from a quantized pattern";
            return;
        }

        Annotate(node, new Dictionary<int, QuantizationSpecBase> { [0] = act });
        _patternOutputs.Add(node);
    }

    /// <summary>Step 3: a propagated op's output shares the parameters of its first input.</summary>
    private void SharePropagatedOutput(OnnxNode node)
    {
        if (X86Ops.Propagation.Contains(node.OpType) && _patternOutputs.Contains(node)
            && _annotations.Get(node) is { } annotation && annotation.InputQSpecMap.ContainsKey(0))
            annotation.OutputQSpec = new SharedQuantizationSpec(QuantizationEdge.Input(node, 0));
    }

    /// <summary>
    /// True when some consumer of <paramref name="tensor"/> quantizes it (a spec on that input from step 1), is a
    /// pool or Concat, or is a layout op whose own output feeds such a consumer.
    /// </summary>
    private bool FeedsInt8Consumer(string tensor, int depth)
    {
        if (depth > 64)
            return false;
        foreach (var consumer in _graph.GetConsumers(tensor))
        {
            var node = consumer.Node;
            if (_annotations.Get(node)?.InputQSpecMap.ContainsKey(consumer.InputIndex) == true)
                return true;
            if (_claimed.Contains(node) || !node.IsDefaultDomain)
                continue;
            if (node.OpType == "Concat")
                return true;
            if (consumer.InputIndex != 0)
                continue;
            if (X86Ops.Pools.Contains(node.OpType))
                return true;
            if (X86Ops.Layout.Contains(node.OpType) && node.Outputs.Count > 0 && FeedsInt8Consumer(node.Outputs[0], depth + 1))
                return true;
        }

        return false;
    }
}
