using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>One module being captured: where it sits in the module tree, and the builder its nodes go to.</summary>
internal sealed record CaptureScope(GraphBuilder Builder, string Path, nn.Module Module)
{
    /// <summary>The name of the node the module becomes, or of one of several with <paramref name="part"/>.</summary>
    public string NodeName(string? part = null)
    {
        string baseName = Path.Length > 0 ? Path : Module.GetType().Name;
        return part is null ? baseName : $"{baseName}/{part}";
    }

    /// <summary>The name of a parameter initializer, as PyTorch names state-dict entries (e.g. <c>features.0.weight</c>).</summary>
    public string ParameterName(string parameter) => Path.Length > 0 ? $"{Path}.{parameter}" : parameter;

    public ModuleCaptureException Fail(string reason) => new(Path, Module.GetType(), reason);

    /// <summary>Fails unless the input has one of the given ranks.</summary>
    public void RequireRank(CapturedTensor input, params int[] ranks)
    {
        if (!ranks.Contains(input.Rank))
            throw Fail($"it takes a {string.Join(" or ", ranks.Select(r => $"{r}-D"))} input, but the tensor reaching it has shape {input.Describe()}.");
    }

    /// <summary>Fails unless the input has <paramref name="expected"/> entries along <paramref name="dim"/>.</summary>
    public void RequireDim(CapturedTensor input, int dim, long expected, string what)
    {
        if (input.Shape[dim] != expected)
            throw Fail($"it expects {expected} {what} (dimension {dim}), but the tensor reaching it has shape {input.Describe()}.");
    }

    /// <summary>Copies a float32 parameter or buffer to the graph as an initializer, exactly.</summary>
    public string AddTensor(Tensor? tensor, string parameter, bool transpose2D = false)
    {
        if (tensor is null)
            throw Fail($"its {parameter} is null.");
        if (tensor.dtype != ScalarType.Float32)
            throw Fail($"its {parameter} is {tensor.dtype}; only float32 modules can be captured.");
        using var scope = NewDisposeScope();
        var source = transpose2D ? tensor.detach().t() : tensor.detach();
        var values = source.cpu().contiguous().data<float>().ToArray();
        return Builder.AddInitializer(ParameterName(parameter), source.shape, values);
    }

    /// <summary>A float initializer holding <paramref name="count"/> copies of <paramref name="value"/>.</summary>
    public string AddFilled(string parameter, long count, float value) =>
        Builder.AddInitializer(ParameterName(parameter), [count], Enumerable.Repeat(value, checked((int)count)).ToArray());
}
