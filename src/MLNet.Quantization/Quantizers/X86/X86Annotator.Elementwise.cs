using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// Step 1, elementwise patterns (with <see cref="X86Quantizer.QuantizeElementwise"/> only): <c>Add | Mul [Relu | Clip]</c>
/// between int8 tensors, which ONNX Runtime runs as QLinearAdd / QLinearMul, folding the Clip into the output's range.
/// </summary>
internal sealed partial class X86Annotator
{
    private static readonly Func<ObserverOptions, Observer> ConstantObserver = static o => new MinMaxObserver(o);

    /// <summary>Float activations whose output an elementwise pattern may quantize as a small boundary (gates).</summary>
    private static readonly HashSet<string> GateActivations = new(StringComparer.Ordinal) { "HardSigmoid", "Sigmoid", "Tanh", "Relu", "Clip", "LeakyRelu", "HardSwish" };

    /// <summary>
    /// Annotates an Add or Mul when one input comes from a quantized pattern and the other from a quantized pattern,
    /// from a float activation of one (a squeeze-and-excitation gate: <c>HardSigmoid(Conv(...))</c>), or is a float
    /// constant (quantized uint8 by its own min and max). The pattern's output has no spec of its own; its consumers,
    /// or ORT-fusion completion, quantize it.
    /// </summary>
    private void AnnotateElementwise(OnnxNode node)
    {
        if (node.Inputs.Count != 2 || node.Outputs.Count != 1)
            return;
        var choice = _quantizer.Resolve(node);
        if (!choice.Found || choice.Config?.InputActivation is not { } act)
            return;
        var map = new Dictionary<int, QuantizationSpecBase>();
        bool fromPattern = false;
        for (int i = 0; i < 2; i++)
        {
            string input = node.Inputs[i];
            if (_graph.TryGetConstant(input, out var constant))
            {
                if (constant.ElementType != TensorElementType.Float)
                    return;
                map[i] = act with { ObserverFactory = ConstantObserver };
            }
            else if (IsFromQuantizedPattern(input))
            {
                map[i] = act;
                fromPattern = true;
            }
            else if (IsGateOfQuantizedPattern(input))
            {
                map[i] = act;
            }
            else
            {
                _reasons[node] = $"X86Quantizer.QuantizeElementwise: its input '{input}' neither comes from a quantized pattern nor is a constant";
                return;
            }
        }

        if (!fromPattern)
            return;
        Annotate(node, map);
        var last = node;
        foreach (var unary in UnaryTail(node))
        {
            ClaimQuantized(unary);
            last = unary;
        }

        _patternOutputs.Add(last);
    }

    /// <summary>True when <paramref name="tensor"/> is the output of a float activation whose input comes from a quantized pattern.</summary>
    private bool IsGateOfQuantizedPattern(string tensor) =>
        _graph.GetProducer(tensor) is { } producer && producer.IsDefaultDomain && GateActivations.Contains(producer.OpType)
        && !_claimed.Contains(producer) && producer.Inputs.Count > 0 && IsFromQuantizedPattern(producer.Inputs[0])
        && producer.Inputs.Skip(1).All(bound => bound.Length == 0 || IsConstant(bound));
}
