using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// <c>BatchNorm1d</c>/<c>BatchNorm2d</c> in eval mode as <c>BatchNormalization</c> over the running statistics (so that
/// the quantization flow's BatchNorm folding can fold it into a preceding Conv), and <c>LayerNorm</c> decomposed into
/// the opset-13 ops PyTorch's exporter writes: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add.
/// </summary>
internal static class NormCapture
{
    public static CapturedTensor BatchNorm(CaptureScope scope, BatchNorm bn, int[] ranks, CapturedTensor x)
    {
        scope.RequireRank(x, ranks);
        scope.RequireDim(x, 1, bn.num_features, "channels");
        if (!bn.track_running_stats || bn.running_mean is null || bn.running_var is null)
            throw scope.Fail("it does not track running statistics, so in eval mode it normalizes with batch statistics, which an exported model cannot reproduce.");
        long c = bn.num_features;
        string scale = bn.weight is null ? scope.AddFilled("weight", c, 1f) : scope.AddTensor(bn.weight, "weight");
        string bias = bn.bias is null ? scope.AddFilled("bias", c, 0f) : scope.AddTensor(bn.bias, "bias");
        string mean = scope.AddTensor(bn.running_mean, "running_mean");
        string variance = scope.AddTensor(bn.running_var, "running_var");
        return scope.Builder.AddNode("BatchNormalization", scope.NodeName(), [x.Name, scale, bias, mean, variance], x.Shape, x.BatchLeading,
            n => n.SetFloat("epsilon", (float)bn.eps));
    }

    public static CapturedTensor LayerNorm(CaptureScope scope, LayerNorm ln, CapturedTensor x)
    {
        long[] normalized = ln.normalized_shape;
        if (normalized.Length == 0 || normalized.Length >= x.Rank || !x.Shape.AsSpan(x.Shape.Length - normalized.Length).SequenceEqual(normalized))
            throw scope.Fail($"it normalizes over the trailing dims {ConvCapture.Show(normalized)}, which the tensor reaching it, {x.Describe()}, does not end with (the batch dimension cannot be normalized over).");
        long[] axes = Enumerable.Range(x.Rank - normalized.Length, normalized.Length).Select(a => (long)a).ToArray();
        long[] reducedShape = x.Shape.Select((d, i) => i >= x.Rank - normalized.Length ? 1 : d).ToArray();
        var b = scope.Builder;
        var mean = b.AddNode("ReduceMean", scope.NodeName("ReduceMean"), [x.Name], reducedShape, x.BatchLeading, n => Reduce(n, axes));
        var centered = b.AddElementwise("Sub", scope.NodeName("Sub"), x, mean.Name);
        var squared = b.AddElementwise("Pow", scope.NodeName("Pow"), centered, b.AddScalar(scope.ParameterName("two"), 2f));
        var variance = b.AddNode("ReduceMean", scope.NodeName("ReduceMean"), [squared.Name], reducedShape, x.BatchLeading, n => Reduce(n, axes));
        var shifted = b.AddElementwise("Add", scope.NodeName("Add"), variance, b.AddScalar(scope.ParameterName("eps"), (float)ln.eps));
        var std = b.AddElementwise("Sqrt", scope.NodeName("Sqrt"), shifted);
        var y = b.AddElementwise("Div", scope.NodeName("Div"), centered, std.Name);
        if (ln.weight is not null)
            y = b.AddElementwise("Mul", scope.NodeName("Mul"), y, scope.AddTensor(ln.weight, "weight"));
        if (ln.bias is not null)
            y = b.AddElementwise("Add", scope.NodeName("Add"), y, scope.AddTensor(ln.bias, "bias"));
        return y;
    }

    private static void Reduce(NodeAttributes node, long[] axes)
    {
        node.SetInts("axes", axes);
        node.SetInt("keepdims", 1);
    }
}
