using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// <c>MaxPool2d</c> and <c>AvgPool2d</c> as <c>MaxPool</c>/<c>AveragePool</c> (kernel, strides, symmetric pads,
/// dilations, ceil_mode, count_include_pad), and <c>AdaptiveAvgPool2d(1)</c> as <c>GlobalAveragePool</c>.
/// </summary>
internal static class PoolCapture
{
    public static CapturedTensor MaxPool(CaptureScope scope, MaxPool2d pool, CapturedTensor x)
    {
        scope.RequireRank(x, 4);
        long[] kernel = ConvCapture.Expand(scope, pool.kernel_size, 2, "kernel_size");
        long[] stride = ConvCapture.Expand(scope, pool.stride is { Length: > 0 } s ? s : kernel, 2, "stride");
        long[] padding = ConvCapture.Expand(scope, pool.padding is { Length: > 0 } p ? p : [0], 2, "padding", minimum: 0);
        long[] dilation = ConvCapture.Expand(scope, pool.dilation is { Length: > 0 } d ? d : [1], 2, "dilation");
        var shape = OutputShape(scope, x, kernel, stride, padding, dilation, pool.ceil_mode);
        return scope.Builder.AddNode("MaxPool", scope.NodeName(), [x.Name], shape, x.BatchLeading, n =>
        {
            n.SetInts("kernel_shape", kernel);
            n.SetInts("strides", stride);
            n.SetInts("pads", [.. padding, .. padding]);
            n.SetInts("dilations", dilation);
            n.SetInt("ceil_mode", pool.ceil_mode ? 1 : 0);
        });
    }

    public static CapturedTensor AvgPool(CaptureScope scope, AvgPool2d pool, CapturedTensor x)
    {
        scope.RequireRank(x, 4);
        if (pool.divisor_override is not null)
            throw scope.Fail($"divisor_override {pool.divisor_override} has no ONNX AveragePool equivalent.");
        long[] kernel = ConvCapture.Expand(scope, pool.kernel_size, 2, "kernel_size");
        long[] stride = ConvCapture.Expand(scope, pool.stride is { Length: > 0 } s ? s : kernel, 2, "stride");
        long[] padding = ConvCapture.Expand(scope, pool.padding is { Length: > 0 } p ? p : [0], 2, "padding", minimum: 0);
        var shape = OutputShape(scope, x, kernel, stride, padding, [1, 1], pool.ceil_mode);
        return scope.Builder.AddNode("AveragePool", scope.NodeName(), [x.Name], shape, x.BatchLeading, n =>
        {
            n.SetInts("kernel_shape", kernel);
            n.SetInts("strides", stride);
            n.SetInts("pads", [.. padding, .. padding]);
            n.SetInt("ceil_mode", pool.ceil_mode ? 1 : 0);
            n.SetInt("count_include_pad", pool.count_include_pad ? 1 : 0);
        });
    }

    public static CapturedTensor AdaptiveAvgPool(CaptureScope scope, AdaptiveAvgPool2d pool, CapturedTensor x)
    {
        scope.RequireRank(x, 4);
        if (pool.output_size is not { Length: 1 or 2 } size || size.Any(v => v != 1))
            throw scope.Fail($"only output size 1 (global average pooling) is supported, not [{string.Join(", ", pool.output_size ?? [])}].");
        return scope.Builder.AddNode("GlobalAveragePool", scope.NodeName(), [x.Name], [x.Shape[0], x.Shape[1], 1, 1], x.BatchLeading);
    }

    /// <summary>PyTorch's pooling output size, after its checks (padding at most half the effective kernel, no empty output).</summary>
    private static long[] OutputShape(CaptureScope scope, CapturedTensor x, long[] kernel, long[] stride, long[] padding, long[] dilation, bool ceilMode)
    {
        long[] shape = [x.Shape[0], x.Shape[1], 0, 0];
        for (int i = 0; i < 2; i++)
        {
            long effective = (dilation[i] * (kernel[i] - 1)) + 1;
            if (padding[i] * 2 > effective)
                throw scope.Fail($"its padding {ConvCapture.Show(padding)} is more than half the (dilated) kernel {ConvCapture.Show(kernel)}.");
            long input = x.Shape[i + 2];
            long numerator = input + (2 * padding[i]) - effective + (ceilMode ? stride[i] - 1 : 0);
            if (numerator < 0)
                throw scope.Fail($"its kernel {ConvCapture.Show(kernel)} does not fit the padded input {x.Describe()}.");
            long output = (numerator / stride[i]) + 1;
            if (ceilMode && (output - 1) * stride[i] >= input + padding[i])
                output--; // the last window must start inside the input or its left padding
            if (output < 1)
                throw scope.Fail($"its output would be empty for the input {x.Describe()}.");
            shape[i + 2] = output;
        }

        return shape;
    }
}
