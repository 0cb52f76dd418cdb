using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// Step 1, linear patterns: Gemm or MatMul with a constant weight (MatMul optionally followed by the Add of a constant
/// bias), each with the shared tail <c>[Add] [Relu | Clip | Relu Clip]</c>; and MatMul of two activations.
/// </summary>
internal sealed partial class X86Annotator
{
    private static readonly FixedQParamsQuantizationSpec SoftmaxOutput = new(QuantDataType.UInt8, 1f / 256, 0);

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
        if (_dynamic)
        {
            if (!choice.Found || choice.Config is null)
            {
                KeepFloat(pattern, choice);
                return;
            }

            AnnotateAnchor(pattern, choice, WeightedNodeSpecs(node, choice.Config, axis, withBias: false));
            return;
        }

        // MatMul + Add(constant bias): the exporter's Linear on an N-D input; the bias Add stays float.
        var last = node;
        if (node.OpType == "MatMul" && FusibleAdd(node, constantOther: true) is { } biasAdd)
        {
            pattern.Add(biasAdd.Node);
            last = biasAdd.Node;
        }

        // linear [+ Add (extra input float)] [+ Relu]
        var tail = MatchTail(last);
        pattern.AddRange(tail.Nodes);
        last = tail.Last;

        if (!choice.Found || choice.Config is null)
        {
            KeepFloat(pattern, choice);
            return;
        }

        var config = choice.Config;
        bool withBias = node.OpType == "Gemm" && node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && IsGemmBiasQuantizable(node, weightTensor, axis);
        if (!AnnotateAnchor(pattern, choice, WeightedNodeSpecs(node, config, axis, withBias)))
            return;
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

        var choice = _quantizer.Resolve(matmul, allowGlobal: _quantizer.QuantizeActivationMatMuls);
        if (!choice.Found)
        {
            _reasons[matmul] = "MatMul of two activations is outside X86InductorQuantizer's default recipe; enable it with QuantizeActivationMatMuls, SetOperatorType(\"MatMul\", config) or SetNodeName";
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

        var map = new Dictionary<int, QuantizationSpecBase> { [0] = act, [1] = act };
        for (int i = 0; i < 2; i++)
        {
            if (QuantizableSoftmax(matmul.Inputs[i]) is { } softmax)
                map[i] = AnnotateSoftmaxOutput(softmax);
        }

        Annotate(matmul, map);
        _patternOutputs.Add(matmul);
    }

    /// <summary>
    /// The Softmax producing <paramref name="tensor"/> when it can run as ONNX Runtime's QLinearSoftmax: this MatMul is
    /// its only reader and its input is an int8 pattern's output, directly or through a Div or Mul by a constant (the
    /// attention scale, folded into the DequantizeLinear at convert); otherwise null.
    /// </summary>
    private OnnxNode? QuantizableSoftmax(string tensor)
    {
        if (_graph.GetProducer(tensor) is not { OpType: "Softmax" } softmax || !CanFuse(softmax) || SoleConsumer(softmax) is null)
            return null;
        string input = softmax.Inputs[0];
        if (_graph.GetProducer(input) is { OpType: "Div" or "Mul" } scaling && scaling.IsDefaultDomain && SoleConsumer(scaling) == softmax
            && scaling.Inputs.Count == 2 && scaling.Inputs.Count(IsConstant) == 1)
            input = scaling.Inputs.First(i => !IsConstant(i));
        return IsFromQuantizedPattern(input) ? softmax : null;
    }

    /// <summary>
    /// Softmax's output has the fixed range [0, 1]: uint8 with scale 1/256 and zero point 0, as PT2E's fixed-qparams ops
    /// and ONNX Runtime's quantizer. Its consumer's input shares the same spec.
    /// </summary>
    private QuantizationSpecBase AnnotateSoftmaxOutput(OnnxNode softmax)
    {
        var annotation = ClaimQuantized(softmax);
        annotation.OutputQSpec = SoftmaxOutput;
        return SoftmaxOutput;
    }

    /// <summary>ONNX Runtime fuses a QDQ Gemm bias only as a 1-D int32 [N] added with beta 1.</summary>
    private bool IsGemmBiasQuantizable(OnnxNode gemm, TensorData weight, int axis)
    {
        if (gemm.GetFloat("beta", 1f) != 1f || !_graph.TryGetConstant(gemm.Inputs[2], out var bias))
            return false;
        long n = weight.Dims[axis];
        return bias.Dims.Count == 1 && bias.Dims[0] == n;
    }
}
