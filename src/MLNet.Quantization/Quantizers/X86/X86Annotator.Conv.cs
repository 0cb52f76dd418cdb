using MLNet.Quantization.Backends.OnnxRuntime;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>Step 1, Conv patterns: <c>Conv [BatchNormalization, QAT only] [Add] [Relu | Clip | Relu Clip]</c>.</summary>
internal sealed partial class X86Annotator
{
    private void AnnotateConv(OnnxNode conv)
    {
        if (_dynamic)
        {
            _reasons[conv] = "dynamic quantization never applies to Conv (ONNX Runtime's CPU provider has no ConvInteger with int8 weights)";
            return;
        }

        if (conv.Inputs.Count < 2 || !IsConstant(conv.Inputs[1]))
        {
            _reasons[conv] = "its weight is not a constant";
            return;
        }

        if (IsConstant(conv.Inputs[0]))
        {
            _reasons[conv] = "its input is a constant";
            return;
        }

        var choice = _quantizer.Resolve(conv);
        var pattern = new List<OnnxNode> { conv };
        var last = conv;
        OnnxNode? bn = null;
        if (_qat && FusibleConsumer(last, "BatchNormalization") is { } bnCandidate)
        {
            bn = bnCandidate;
            pattern.Add(bn);
            last = bn;
        }

        var tail = MatchTail(last);
        pattern.AddRange(tail.Nodes);
        last = tail.Last;

        if (!choice.Found || choice.Config is null)
        {
            KeepFloat(pattern, choice);
            return;
        }

        if (_quantizer.KeepNarrowConvsInFloat && !_quantizer.HasNodeNameConfig(conv)
            && OrtConvRules.FloatIsFaster(_graph, conv, ReadsFloat) is { } reason)
        {
            KeepFloat(pattern, new ConfigChoice(true, null, reason));
            return;
        }

        var config = choice.Config;
        bool withBias = conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0;
        if (!AnnotateAnchor(pattern, choice, WeightedNodeSpecs(conv, config, weightAxis: 0, withBias)))
            return;
        foreach (var node in pattern.Skip(1))
        {
            var annotation = ClaimQuantized(node);
            if (tail.Add is { } add && ReferenceEquals(node, add.Node) && config.InputActivation is { } addAct)
                annotation.InputQSpecMap[add.ExtraInput] = addAct;
        }

        // PyTorch's QAT conv-bn patterns quantize the pattern output themselves (BatchNorm is not folded in QAT).
        if (bn is not null && config.OutputActivation is { } output)
            _annotations.GetOrCreate(last).OutputQSpec = output;

        if (config.InputActivation is not null)
            _patternOutputs.Add(last);
    }

    /// <summary>
    /// True when <paramref name="tensor"/> is a graph input or comes, through int8-in-int8-out ops, from a node that no
    /// quantized pattern ends at: quantizing it would add a float-to-int8 boundary there.
    /// </summary>
    private bool ReadsFloat(string tensor)
    {
        var producer = _graph.GetProducer(tensor);
        for (int depth = 0; producer is not null && depth < 64 && !_patternOutputs.Contains(producer) && X86Ops.Propagation.Contains(producer.OpType)
            && producer.Inputs.Count > 0; depth++)
            producer = _graph.GetProducer(producer.Inputs[0]);
        return producer is null || !_patternOutputs.Contains(producer);
    }
}
