using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// The annotation-time performance rule of <c>X86Quantizer.KeepNarrowConvsInFloat</c>: the Convs ONNX Runtime's x86
/// CPU provider runs no faster, or slower, in int8 than in fp32.
/// </summary>
internal static class OrtConvRules
{
    /// <summary>
    /// Why <paramref name="conv"/> runs faster in float in ONNX Runtime, or null. <paramref name="readsFloat"/> says
    /// whether a tensor comes from float (quantizing it would add a float-to-int8 boundary there).
    /// </summary>
    public static string? FloatIsFaster(OnnxGraph graph, OnnxNode conv, Func<string, bool> readsFloat)
    {
        if (NarrowInputChannels(graph, conv) is int channels)
            return $"X86Quantizer.KeepNarrowConvsInFloat: {channels} input channel(s), not a multiple of 4, where ONNX Runtime's int8 convolution is slower than its fp32 one";
        if (IsStridedDepthwise(graph, conv) && readsFloat(conv.Inputs[0]))
            return "X86Quantizer.KeepNarrowConvsInFloat: a strided depthwise conv reading a float tensor, where ONNX Runtime's int8 kernel is no faster than fp32 and its smaller output is the cheaper place to quantize";
        return null;
    }

    /// <summary>
    /// The input channel count of a group-1 Conv when it is below 16 and not a multiple of 4 (a 1- or 3-channel image
    /// stem, typically); otherwise null. ONNX Runtime's x86 int8 convolution has no fast path for those channel counts.
    /// </summary>
    private static int? NarrowInputChannels(OnnxGraph graph, OnnxNode conv)
    {
        if (conv.GetInt("group", 1) != 1 || !graph.TryGetConstant(conv.Inputs[1], out var weight) || weight.Dims.Count < 3)
            return null;
        long channels = weight.Dims[1];
        return channels < 16 && channels % 4 != 0 ? (int)channels : null;
    }

    /// <summary>A depthwise Conv (one input channel per group, group &gt; 1) with a stride above 1.</summary>
    private static bool IsStridedDepthwise(OnnxGraph graph, OnnxNode conv)
    {
        long group = conv.GetInt("group", 1);
        return group > 1 && graph.TryGetConstant(conv.Inputs[1], out var weight) && weight.Dims.Count >= 3 && weight.Dims[1] == 1
            && conv.GetInts("strides").Any(s => s > 1);
    }
}
