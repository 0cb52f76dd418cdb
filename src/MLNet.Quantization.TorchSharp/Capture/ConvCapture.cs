using TorchSharp;
using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// <c>Conv1d</c>/<c>Conv2d</c> as ONNX <c>Conv</c>: kernel, strides, dilations, group, and explicit pads. Padding
/// <c>same</c> becomes the asymmetric pads PyTorch uses (the odd extra on the end side); only zero padding is supported.
/// </summary>
internal static class ConvCapture
{
    public static CapturedTensor Capture(CaptureScope scope, Convolution conv, int spatialDims, CapturedTensor x)
    {
        if (conv.transposed)
            throw scope.Fail("transposed convolutions are not supported.");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw scope.Fail($"padding_mode {conv.padding_mode} is not supported; only zeros padding can be exported.");
        scope.RequireRank(x, spatialDims + 2);
        scope.RequireDim(x, 1, conv.in_channels, "input channels");
        long[] kernel = Expand(scope, conv.kernel_size, spatialDims, "kernel_size");
        long[] stride = Expand(scope, conv.stride, spatialDims, "stride");
        long[] dilation = Expand(scope, conv.dilation, spatialDims, "dilation");
        long[] begin = new long[spatialDims], end = new long[spatialDims];
        for (int i = 0; i < spatialDims; i++)
        {
            if (conv.padding_type == Padding.Same)
            {
                long total = dilation[i] * (kernel[i] - 1);
                begin[i] = total / 2;
                end[i] = total - begin[i];
            }
            else if (conv.padding_type != Padding.Valid)
            {
                begin[i] = end[i] = Expand(scope, conv.padding, spatialDims, "padding", minimum: 0)[i];
            }
        }

        long[] shape = new long[spatialDims + 2];
        shape[0] = x.Shape[0];
        shape[1] = conv.out_channels;
        for (int i = 0; i < spatialDims; i++)
        {
            long extent = x.Shape[i + 2] + begin[i] + end[i] - (dilation[i] * (kernel[i] - 1)) - 1;
            if (extent < 0)
                throw scope.Fail($"its kernel {Show(kernel)} with dilation {Show(dilation)} does not fit the padded input {x.Describe()}.");
            shape[i + 2] = (extent / stride[i]) + 1;
        }

        string weight = scope.AddTensor(conv.weight, "weight");
        string[] inputs = conv.bias is null ? [x.Name, weight] : [x.Name, weight, scope.AddTensor(conv.bias, "bias")];
        return scope.Builder.AddNode("Conv", scope.NodeName(), inputs, shape, x.BatchLeading, n =>
        {
            n.SetInts("kernel_shape", kernel);
            n.SetInts("strides", stride);
            n.SetInts("dilations", dilation);
            n.SetInts("pads", [.. begin, .. end]);
            n.SetInt("group", conv.groups);
        });
    }

    /// <summary>A per-spatial-dimension hyperparameter: PyTorch modules may keep one value for all dims.</summary>
    internal static long[] Expand(CaptureScope scope, long[]? values, int spatialDims, string name, long minimum = 1)
    {
        if (values is { Length: 1 } && spatialDims > 1)
            return Enumerable.Repeat(values[0], spatialDims).ToArray();
        if (values is null || values.Length != spatialDims)
            throw scope.Fail($"its {name} [{string.Join(", ", values ?? [])}] does not have one value per spatial dimension ({spatialDims}).");
        if (values.Any(v => v < minimum))
            throw scope.Fail($"its {name} [{string.Join(", ", values)}] has a value below {minimum}.");
        return values;
    }

    internal static string Show(long[] values) => $"[{string.Join(", ", values)}]";
}
