using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// Elementwise activations: ReLU, Sigmoid, Tanh map to their ONNX ops; ReLU6 is <c>Clip(x, 0, 6)</c> with min and max
/// as inputs; GELU is PyTorch's opset-13 export, <c>x·0.5·(1 + Erf(x/√2))</c>, or its tanh approximation.
/// </summary>
internal static class ActivationCapture
{
    public static CapturedTensor Simple(CaptureScope scope, string opType, CapturedTensor x) =>
        scope.Builder.AddElementwise(opType, scope.NodeName(), x);

    public static CapturedTensor Relu6(CaptureScope scope, CapturedTensor x)
    {
        var b = scope.Builder;
        return b.AddElementwise("Clip", scope.NodeName(), x, b.AddScalar(scope.ParameterName("min"), 0f), b.AddScalar(scope.ParameterName("max"), 6f));
    }

    public static CapturedTensor Gelu(CaptureScope scope, GELU gelu, CapturedTensor x)
    {
        var b = scope.Builder;
        CapturedTensor inner;
        if (gelu.approximate == GELU.Approximate.tanh)
        {
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            var cube = b.AddElementwise("Pow", scope.NodeName("Pow"), x, b.AddScalar(scope.ParameterName("three"), 3f));
            var scaledCube = b.AddElementwise("Mul", scope.NodeName("Mul"), cube, b.AddScalar(scope.ParameterName("coefficient"), 0.044715f));
            var sum = b.AddElementwise("Add", scope.NodeName("Add"), x, scaledCube.Name);
            var scaled = b.AddElementwise("Mul", scope.NodeName("Mul"), sum, b.AddScalar(scope.ParameterName("sqrt_2_over_pi"), (float)Math.Sqrt(2 / Math.PI)));
            inner = b.AddElementwise("Tanh", scope.NodeName("Tanh"), scaled);
        }
        else
        {
            var divided = b.AddElementwise("Div", scope.NodeName("Div"), x, b.AddScalar(scope.ParameterName("sqrt2"), (float)Math.Sqrt(2)));
            inner = b.AddElementwise("Erf", scope.NodeName("Erf"), divided);
        }

        var plusOne = b.AddElementwise("Add", scope.NodeName("Add"), inner, b.AddScalar(scope.ParameterName("one"), 1f));
        var product = b.AddElementwise("Mul", scope.NodeName("Mul"), x, plusOne.Name);
        return b.AddElementwise("Mul", scope.NodeName("Mul"), product, b.AddScalar(scope.ParameterName("half"), 0.5f));
    }
}
