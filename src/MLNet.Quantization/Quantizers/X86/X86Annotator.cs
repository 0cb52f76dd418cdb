using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// One run of <see cref="X86Quantizer"/>'s recipe over a graph, following X86InductorQuantizer's three steps:
/// (1) fusion patterns anchored on Conv, Gemm and MatMul; (2) propagation to int8-in-int8-out ops whose inputs come
/// from quantized patterns; (3) those ops' outputs share their input's parameters.
/// </summary>
internal sealed class X86Annotator
{
    private static readonly HashSet<string> PropagationOps = new(StringComparer.Ordinal)
    {
        "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat",
    };

    // Layout ops worth running in int8 only when a consumer runs in int8. Flatten follows X86InductorQuantizer's rule
    // (some consumer has a quantizable operator type); Reshape and Transpose, which X86InductorQuantizer does not
    // propagate through, need a consumer that actually quantizes the tensor, directly or through more layout ops, so
    // that transformer shape plumbing feeding float ops gets no useless Q/DQ.
    private static readonly HashSet<string> LayoutOps = new(StringComparer.Ordinal) { "Flatten", "Reshape", "Transpose" };

    // X86InductorQuantizer's quantizable_ops, in ONNX terms.
    private static readonly HashSet<string> QuantizableOps = new(StringComparer.Ordinal)
    {
        "Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat",
    };

    private readonly OnnxGraph _graph;
    private readonly QuantizationAnnotations _annotations;
    private readonly X86Quantizer _quantizer;
    private readonly bool _dynamic;
    private readonly bool _qat;

    // X86InductorQuantizer's _is_output_of_quantized_pattern: last node of a quantized pattern.
    private readonly HashSet<OnnxNode> _patternOutputs = new(ReferenceEqualityComparer.Instance);

    // Nodes claimed by a pattern (quantized or kept in float by a null config).
    private readonly HashSet<OnnxNode> _claimed = new(ReferenceEqualityComparer.Instance);

    // Why a node stays in float, when a step decided it; otherwise a generic reason is recorded at the end.
    private readonly Dictionary<OnnxNode, string> _reasons = new(ReferenceEqualityComparer.Instance);

    public X86Annotator(OnnxGraph graph, QuantizationAnnotations annotations, X86Quantizer quantizer)
    {
        _graph = graph;
        _annotations = annotations;
        _quantizer = quantizer;
        _dynamic = quantizer.IsDynamicMode;
        _qat = quantizer.IsQatMode;
    }

    public void Run()
    {
        var order = _graph.TopologicalOrder();
        foreach (var node in order)
        {
            if (_annotations.IsAnnotated(node))
                _claimed.Add(node);
        }

        foreach (var node in order)
        {
            if (_claimed.Contains(node))
                continue;
            switch (node.OpType)
            {
                case "Conv" when node.IsDefaultDomain:
                    AnnotateConv(node);
                    break;
                case "Gemm" or "MatMul" when node.IsDefaultDomain:
                    AnnotateLinearOrMatMul(node);
                    break;
            }
        }

        if (!_dynamic)
        {
            foreach (var node in order)
            {
                if (!_claimed.Contains(node) && PropagationOps.Contains(node.OpType) && node.IsDefaultDomain)
                    AnnotatePropagation(node);
            }

            foreach (var node in order)
            {
                if (PropagationOps.Contains(node.OpType) && _patternOutputs.Contains(node)
                    && _annotations.Get(node) is { } annotation && annotation.InputQSpecMap.ContainsKey(0))
                    annotation.OutputQSpec = new SharedQuantizationSpec(QuantizationEdge.Input(node, 0));
            }
        }

        foreach (var node in order)
        {
            if (_annotations.Get(node) is { } a && a.QuantizesAnything)
                continue;
            if (_claimed.Contains(node) && !_reasons.ContainsKey(node))
                continue; // fused into a quantized pattern (a Relu, a bias Add)
            _annotations.Skip(node, _reasons.GetValueOrDefault(node) ?? DefaultReason(node));
        }
    }

    private string DefaultReason(OnnxNode node)
    {
        if (_dynamic)
            return $"dynamic quantization applies only to Gemm and MatMul with a constant weight; no pattern for {node.OpType}";
        return $"X86Quantizer has no pattern for {node.OpType}";
    }

    // ---- Step 1: Conv patterns -------------------------------------------------------------------------------

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

        // Conv [BN, QAT only] [Add] [Relu | Clip | Relu Clip]
        var pattern = new List<OnnxNode> { conv };
        var last = conv;
        OnnxNode? bn = null;
        if (_qat && FusibleConsumer(last, "BatchNormalization") is { } bnCandidate)
        {
            bn = bnCandidate;
            pattern.Add(bn);
            last = bn;
        }

        OnnxNode? add = null;
        int extraIndex = -1;
        if (SoleConsumer(last) is { OpType: "Add" } addCandidate && CanFuse(addCandidate)
            && BinaryExtraInput(addCandidate, last.Outputs[0]) is int extra && !IsConstant(addCandidate.Inputs[extra]))
        {
            add = addCandidate;
            extraIndex = extra;
            pattern.Add(add);
            last = add;
        }

        // X86InductorQuantizer fuses ReLU (and after a conv alone relu6/hardtanh); ONNX Runtime folds Relu and Clip into
        // the following QuantizeLinear either way, so both are accepted in both places.
        foreach (var unary in UnaryTail(last))
        {
            pattern.Add(unary);
            last = unary;
        }

        if (!choice.Found || choice.Config is null)
        {
            KeepFloat(pattern, choice);
            return;
        }

        if (_quantizer.KeepNarrowConvsInFloat && !_quantizer.HasNodeNameConfig(conv))
        {
            if (NarrowInputChannels(conv) is int channels)
            {
                KeepFloat(pattern, new ConfigChoice(true, null,
                    $"X86Quantizer.KeepNarrowConvsInFloat: {channels} input channel(s), not a multiple of 4, where ONNX Runtime's int8 convolution is slower than its fp32 one"));
                return;
            }

            if (IsStridedDepthwise(conv) && ReadsFloat(conv.Inputs[0]))
            {
                KeepFloat(pattern, new ConfigChoice(true, null,
                    "X86Quantizer.KeepNarrowConvsInFloat: a strided depthwise conv reading a float tensor, where ONNX Runtime's int8 kernel is no faster than fp32 and its smaller output is the cheaper place to quantize"));
                return;
            }
        }

        var config = choice.Config;
        var map = new Dictionary<int, QuantizationSpecBase>();
        if (config.InputActivation is { } act)
            map[0] = act;
        if (WeightSpec(config, conv.Inputs[1], axis: 0) is { } weight)
            map[1] = weight;
        if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 && BiasSpec(config, conv, map) is { } bias)
            map[2] = bias;
        if (map.Count == 0)
        {
            KeepFloat(pattern, choice with { Source = choice.Source + " (it quantizes neither activations nor weights)" });
            return;
        }

        Annotate(conv, map);
        foreach (var node in pattern.Skip(1))
        {
            var annotation = ClaimQuantized(node);
            if (ReferenceEquals(node, add) && config.InputActivation is { } addAct)
                annotation.InputQSpecMap[extraIndex] = addAct;
        }

        // PyTorch's QAT conv-bn patterns quantize the pattern output themselves (BatchNorm is not folded in QAT).
        if (bn is not null && config.OutputActivation is { } output)
            _annotations.GetOrCreate(last).OutputQSpec = output;

        if (config.InputActivation is not null)
            _patternOutputs.Add(last);
    }

    /// <summary>
    /// The input channel count of a group-1 Conv when it is below 16 and not a multiple of 4 (a 1- or 3-channel image
    /// stem, typically); otherwise null. ONNX Runtime's x86 int8 convolution has no fast path for those channel counts.
    /// </summary>
    private int? NarrowInputChannels(OnnxNode conv)
    {
        if (conv.GetInt("group", 1) != 1 || !_graph.TryGetConstant(conv.Inputs[1], out var weight) || weight.Dims.Count < 3)
            return null;
        long channels = weight.Dims[1];
        return channels < 16 && channels % 4 != 0 ? (int)channels : null;
    }

    /// <summary>A depthwise Conv (one input channel per group, group &gt; 1) with a stride above 1.</summary>
    private bool IsStridedDepthwise(OnnxNode conv)
    {
        long group = conv.GetInt("group", 1);
        return group > 1 && _graph.TryGetConstant(conv.Inputs[1], out var weight) && weight.Dims.Count >= 3 && weight.Dims[1] == 1
            && conv.GetInts("strides").Any(s => s > 1);
    }

    /// <summary>
    /// True when <paramref name="tensor"/> is a graph input or comes, through int8-in-int8-out ops, from a node that no
    /// quantized pattern ends at: quantizing it would add a float-to-int8 boundary there.
    /// </summary>
    private bool ReadsFloat(string tensor)
    {
        var producer = _graph.GetProducer(tensor);
        for (int depth = 0; producer is not null && depth < 64 && !_patternOutputs.Contains(producer) && PropagationOps.Contains(producer.OpType)
            && producer.Inputs.Count > 0; depth++)
            producer = _graph.GetProducer(producer.Inputs[0]);
        return producer is null || !_patternOutputs.Contains(producer);
    }

    // ---- Step 1: linear (Gemm, MatMul with constant weight) and activation MatMul ------------------------------

    private void AnnotateLinearOrMatMul(OnnxNode node)
    {
        if (node.Inputs.Count < 2 || node.Inputs[0].Length == 0 || node.Inputs[1].Length == 0)
        {
            _reasons[node] = "it lacks an input";
            return;
        }

        bool constA = IsConstant(node.Inputs[0]);
        bool constB = IsConstant(node.Inputs[1]);
        if (constA)
        {
            _reasons[node] = "its first input is a constant";
            return;
        }

        if (!constB)
        {
            if (node.OpType == "MatMul")
                AnnotateActivationMatMul(node);
            else
                _reasons[node] = "its weight is not a constant";
            return;
        }

        if (!_graph.TryGetConstant(node.Inputs[1], out var weightTensor) || weightTensor.Dims.Count != 2)
        {
            _reasons[node] = $"its constant weight has rank {weightTensor?.Dims.Count}; a linear needs a 2-D weight";
            return;
        }

        int axis;
        if (node.OpType == "Gemm")
        {
            if (node.GetInt("transA", 0) != 0)
            {
                _reasons[node] = "Gemm with transA=1 is not a linear pattern";
                return;
            }

            axis = node.GetInt("transB", 0) != 0 ? 0 : 1;
        }
        else
        {
            axis = 1; // MatMul weight [K, N]: output channels on the last axis
        }

        var choice = _quantizer.Resolve(node);
        var pattern = new List<OnnxNode> { node };
        var last = node;
        if (_dynamic)
        {
            if (!choice.Found || choice.Config is null)
            {
                KeepFloat(pattern, choice);
                return;
            }

            var dynamicMap = new Dictionary<int, QuantizationSpecBase>();
            if (choice.Config.InputActivation is { } dynamicAct)
                dynamicMap[0] = dynamicAct;
            if (WeightSpec(choice.Config, node.Inputs[1], axis) is { } dynamicWeight)
                dynamicMap[1] = dynamicWeight;
            if (dynamicMap.Count == 0)
            {
                KeepFloat(pattern, choice with { Source = choice.Source + " (it quantizes neither activations nor weights)" });
                return;
            }

            Annotate(node, dynamicMap);
            return;
        }

        // MatMul + Add(constant bias): the exporter's Linear on an N-D input; the bias Add stays float.
        if (node.OpType == "MatMul" && SoleConsumer(node) is { OpType: "Add" } biasAdd && CanFuse(biasAdd)
            && BinaryExtraInput(biasAdd, node.Outputs[0]) is int biasIndex && IsConstant(biasAdd.Inputs[biasIndex]))
        {
            pattern.Add(biasAdd);
            last = biasAdd;
        }

        // linear [+ Add (extra input float)] [+ Relu]
        if (SoleConsumer(last) is { OpType: "Add" } add && CanFuse(add)
            && BinaryExtraInput(add, last.Outputs[0]) is int extra && !IsConstant(add.Inputs[extra]))
        {
            pattern.Add(add);
            last = add;
        }

        foreach (var unary in UnaryTail(last))
        {
            pattern.Add(unary);
            last = unary;
        }

        if (!choice.Found || choice.Config is null)
        {
            KeepFloat(pattern, choice);
            return;
        }

        var config = choice.Config;
        var map = new Dictionary<int, QuantizationSpecBase>();
        if (config.InputActivation is { } act)
            map[0] = act;
        if (WeightSpec(config, node.Inputs[1], axis) is { } weight)
            map[1] = weight;
        if (node.OpType == "Gemm" && node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && IsGemmBiasQuantizable(node, weightTensor, axis)
            && BiasSpec(config, node, map) is { } bias)
            map[2] = bias;
        if (map.Count == 0)
        {
            KeepFloat(pattern, choice with { Source = choice.Source + " (it quantizes neither activations nor weights)" });
            return;
        }

        Annotate(node, map);
        foreach (var fused in pattern.Skip(1))
            ClaimQuantized(fused); // the extra Add input of a linear is not quantized (X86InductorQuantizer)
        if (config.InputActivation is not null)
            _patternOutputs.Add(last);
    }

    private void AnnotateActivationMatMul(OnnxNode matmul)
    {
        if (_dynamic)
        {
            _reasons[matmul] = "dynamic quantization applies only to MatMul with a constant weight";
            return;
        }

        var choice = _quantizer.Resolve(matmul, allowGlobal: false);
        if (!choice.Found)
        {
            _reasons[matmul] = "MatMul of two activations is outside X86InductorQuantizer's default recipe; enable it with SetOperatorType(\"MatMul\", config) or SetNodeName";
            return;
        }

        if (choice.Config is null)
        {
            KeepFloat([matmul], choice);
            return;
        }

        if (choice.Config.InputActivation is not { } act)
        {
            _reasons[matmul] = $"the config from {choice.Source} does not quantize activations";
            return;
        }

        Annotate(matmul, new Dictionary<int, QuantizationSpecBase> { [0] = act, [1] = act });
        _patternOutputs.Add(matmul);
    }

    // ---- Step 2: propagation ------------------------------------------------------------------------------

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

        if (node.OpType == "Flatten" && !_graph.GetConsumers(node.Outputs[0]).Any(c => QuantizableOps.Contains(c.Node.OpType)))
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

    // ---- helpers ------------------------------------------------------------------------------------------

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
            if (node.OpType is "MaxPool" or "AveragePool" or "GlobalAveragePool")
                return true;
            if (LayoutOps.Contains(node.OpType) && node.Outputs.Count > 0 && FeedsInt8Consumer(node.Outputs[0], depth + 1))
                return true;
        }

        return false;
    }

    private bool IsConstant(string tensor) => tensor.Length > 0 && _graph.TryGetConstant(tensor, out _);

    private bool IsFromQuantizedPattern(string tensor) =>
        _graph.GetProducer(tensor) is { } producer && _patternOutputs.Contains(producer);

    /// <summary>The only consumer of <paramref name="node"/>'s first output, when it has exactly one and is not a graph output.</summary>
    private OnnxNode? SoleConsumer(OnnxNode node)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0 || _graph.IsGraphOutput(node.Outputs[0]))
            return null;
        var consumers = _graph.GetConsumers(node.Outputs[0]);
        if (consumers.Count != 1)
            return null;
        return consumers[0].Node;
    }

    /// <summary>A node can join another node's pattern: not claimed, default domain, and no node-name config of its own.</summary>
    private bool CanFuse(OnnxNode node) =>
        !_claimed.Contains(node) && node.IsDefaultDomain && !_quantizer.HasNodeNameConfig(node);

    /// <summary>The index of the other input of a two-input op fed by <paramref name="tensor"/>, or null.</summary>
    private static int? BinaryExtraInput(OnnxNode binary, string tensor)
    {
        if (binary.Inputs.Count != 2 || binary.Inputs[0] == binary.Inputs[1])
            return null;
        if (binary.Inputs[0] == tensor)
            return 1;
        if (binary.Inputs[1] == tensor)
            return 0;
        return null;
    }

    /// <summary>
    /// Relu, Clip with constant bounds, or Relu then Clip (the exporter's relu6) consuming <paramref name="node"/>'s
    /// output. As PyTorch's find_sequential_partitions, a unary op only has to consume the output, not be its only
    /// consumer (binary fusions require a single consumer).
    /// </summary>
    private List<OnnxNode> UnaryTail(OnnxNode node)
    {
        var tail = new List<OnnxNode>();
        var current = node;
        if (FusibleConsumer(current, "Relu") is { } relu)
        {
            tail.Add(relu);
            current = relu;
        }

        if (FusibleConsumer(current, "Clip", IsConstantClip) is { } clip)
            tail.Add(clip);
        return tail;
    }

    /// <summary>The first consumer of <paramref name="node"/>'s first output with <paramref name="opType"/> that can join a pattern.</summary>
    private OnnxNode? FusibleConsumer(OnnxNode node, string opType, Func<OnnxNode, bool>? condition = null)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
            return null;
        foreach (var consumer in _graph.GetConsumers(node.Outputs[0]))
        {
            var candidate = consumer.Node;
            if (candidate.OpType == opType && candidate.Inputs[0] == node.Outputs[0] && CanFuse(candidate) && (condition is null || condition(candidate)))
                return candidate;
        }

        return null;
    }

    private bool IsConstantClip(OnnxNode clip)
    {
        for (int i = 1; i < clip.Inputs.Count; i++)
        {
            if (clip.Inputs[i].Length > 0 && !IsConstant(clip.Inputs[i]))
                return false;
        }

        return true;
    }

    private QuantizationSpec? WeightSpec(QuantizationConfig config, string weightTensor, int axis)
    {
        if (config.Weight is not { } weight)
            return null;
        if (!weight.QScheme.IsPerChannel())
            return weight;
        if (!_graph.TryGetConstant(weightTensor, out var tensor) || axis >= tensor.Dims.Count)
            throw new QuantizationAnnotationException($"Weight '{weightTensor}' has rank {tensor?.Dims.Count}; it has no channel axis {axis}.");
        return weight.ChannelAxis == axis ? weight : weight with { ChannelAxis = axis };
    }

    /// <summary>The bias spec when both activation and weight are quantized (a derived bias needs both).</summary>
    private QuantizationSpecBase? BiasSpec(QuantizationConfig config, OnnxNode node, Dictionary<int, QuantizationSpecBase> map)
    {
        if (config.Bias is null || !IsConstant(node.Inputs[2]))
            return null;
        if (config.Bias is DerivedQuantizationSpec { IsTemplate: true } template)
            return map.ContainsKey(0) && map.ContainsKey(1) ? template.BindBias(node, 0, 1) : null;
        return config.Bias;
    }

    /// <summary>ONNX Runtime fuses a QDQ Gemm bias only as a 1-D int32 [N] added with beta 1.</summary>
    private bool IsGemmBiasQuantizable(OnnxNode gemm, TensorData weight, int axis)
    {
        if (gemm.GetFloat("beta", 1f) != 1f || !_graph.TryGetConstant(gemm.Inputs[2], out var bias))
            return false;
        long n = weight.Dims[axis];
        return bias.Dims.Count == 1 && bias.Dims[0] == n;
    }

    private void Annotate(OnnxNode node, Dictionary<int, QuantizationSpecBase> map)
    {
        var annotation = _annotations.GetOrCreate(node);
        foreach (var (index, spec) in map)
            annotation.InputQSpecMap[index] = spec;
        annotation.Annotated = true;
        _claimed.Add(node);
    }

    private QuantizationAnnotation ClaimQuantized(OnnxNode node)
    {
        var annotation = _annotations.GetOrCreate(node);
        annotation.Annotated = true;
        _claimed.Add(node);
        return annotation;
    }

    /// <summary>Claims the nodes of a pattern a null config keeps in float (X86InductorQuantizer's _annotate_nodes_not_quantize).</summary>
    private void KeepFloat(IReadOnlyList<OnnxNode> pattern, ConfigChoice choice)
    {
        string reason = choice.Found
            ? $"kept in float by {choice.Source}"
            : $"{choice.Source}";
        for (int i = 0; i < pattern.Count; i++)
        {
            var node = pattern[i];
            if (choice.Found)
            {
                _annotations.GetOrCreate(node).Annotated = true;
                _claimed.Add(node);
            }

            _reasons[node] = i == 0 ? reason : $"part of the {pattern[0].OpType} '{pattern[0].Name}' pattern, {reason}";
        }
    }
}
