using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// <c>Linear</c>: <c>Gemm(x, W, b, transB=1)</c> on 2-D input; on higher ranks <c>MatMul(x, Wᵀ)</c> then <c>Add(b)</c>,
/// with the weight stored transposed so that it is a constant MatMul operand.
/// </summary>
internal static class LinearCapture
{
    public static CapturedTensor Capture(CaptureScope scope, Linear linear, CapturedTensor x)
    {
        if (x.Rank < 2)
            throw scope.Fail($"it takes an input of rank ≥ 2 (batch first), but the tensor reaching it has shape {x.Describe()}.");
        scope.RequireDim(x, x.Rank - 1, linear.in_features, "input features");
        long[] shape = [.. x.Shape[..^1], linear.out_features];
        if (x.Rank == 2)
        {
            string weight = scope.AddTensor(linear.weight, "weight");
            string[] inputs = linear.bias is null ? [x.Name, weight] : [x.Name, weight, scope.AddTensor(linear.bias, "bias")];
            return scope.Builder.AddNode("Gemm", scope.NodeName(), inputs, shape, x.BatchLeading, n => n.SetInt("transB", 1));
        }

        string transposed = scope.AddTensor(linear.weight, "weight", transpose2D: true);
        var product = scope.Builder.AddNode("MatMul", linear.bias is null ? scope.NodeName() : scope.NodeName("MatMul"), [x.Name, transposed], shape, x.BatchLeading);
        return linear.bias is null ? product : scope.Builder.AddElementwise("Add", scope.NodeName("Add"), product, scope.AddTensor(linear.bias, "bias"));
    }
}
