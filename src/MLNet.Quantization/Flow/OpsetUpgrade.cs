using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>
/// Raises the default-domain opset to the 13 that per-channel QuantizeLinear/DequantizeLinear need, but only when
/// every op in the graph means the same at 13 as at the model's opset; otherwise it refuses, naming the op.
/// </summary>
internal static class OpsetUpgrade
{
    public const long Required = 13;

    // ops whose semantics (for the inputs/attributes they can carry at opset ≥ 7) did not change up to 13
    private static readonly HashSet<string> Stable = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "Reshape", "Flatten", "Concat", "Transpose", "Identity", "BatchNormalization",
        "Constant", "Gather", "Shape", "Cast", "Sqrt", "Pow", "Exp", "Log", "Abs", "Neg", "Erf", "LRN", "Pad", "Sum", "Max", "Min",
        "Softplus", "Elu", "Selu", "PRelu", "HardSigmoid", "InstanceNormalization",
    };

    public static void Ensure(OnnxGraph graph)
    {
        long version = graph.GetOpsetVersion();
        if (version >= Required)
            return;
        if (version < 7)
            throw new NotSupportedException($"Graph '{graph.Name}' uses ONNX opset {version}; quantization needs opset ≥ 7 to upgrade to {Required}.");
        var changed = graph.Nodes.FirstOrDefault(n => n.IsDefaultDomain && !Stable.Contains(n.OpType));
        if (changed is not null)
        {
            throw new NotSupportedException(
                $"Graph '{graph.Name}' uses ONNX opset {version}, and QDQ needs {Required}; node '{changed.Name}' ({changed.OpType}) may change meaning across that upgrade. Convert the model to opset {Required} first.");
        }

        graph.SetOpsetVersion("", Required);
    }
}
