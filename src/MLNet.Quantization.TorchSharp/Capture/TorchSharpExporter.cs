using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.TorchSharp.Capture;
using MLNet.Quantization.TorchSharp.Native;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp;

/// <summary>
/// Captures a TorchSharp module (a tree of <c>Sequential</c>, <see cref="Residual"/> and supported leaf modules) to an
/// ONNX model with eval-mode semantics: BatchNorm uses its running statistics and Dropout is dropped. The module is
/// read, never run, so its training flag and state are left as they were. The model uses ONNX opset 13, float32, one
/// input and one output, and a dynamic batch dimension by default; weights are copied exactly.
/// </summary>
/// <remarks>
/// <para>Containers: <c>Sequential</c> (children in order, nested to any depth) and <see cref="Residual"/>. Leaves:
/// Linear (Gemm; MatMul + Add on inputs of rank &gt; 2), Conv1d/Conv2d (groups, stride, padding including <c>same</c>,
/// dilation; zeros padding mode only), BatchNorm1d/2d (BatchNormalization over the running statistics),
/// LayerNorm (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add), ReLU, ReLU6 (Clip), GELU (Erf form, or the tanh
/// approximation), Sigmoid, Tanh, MaxPool2d, AvgPool2d (count_include_pad, ceil_mode; no divisor_override),
/// AdaptiveAvgPool2d(1) (GlobalAveragePool), Flatten (Flatten for dims 1..−1, otherwise Reshape), Dropout/Dropout1d/Dropout2d
/// and Identity (no node). Anything else raises <see cref="ModuleCaptureException"/> naming the module path and type.</para>
/// <para>Shapes are checked in C# as the tree is walked, so a module that does not fit its input fails with a .NET
/// exception instead of reaching libtorch (where some shape errors abort the process).</para>
/// </remarks>
public static class TorchSharpExporter
{
    /// <summary>Captures <paramref name="module"/> as an ONNX model.</summary>
    /// <param name="module">The module; its forward must take and return one tensor.</param>
    /// <param name="inputShape">The input's shape with the batch first, e.g. <c>[1, 1, 28, 28]</c>; the batch size is only an example when the batch is dynamic.</param>
    /// <param name="options">Input/output names and batch handling; defaults when null.</param>
    /// <exception cref="ModuleCaptureException">A module cannot be captured; the message names its path (e.g. <c>features.3</c>) and type.</exception>
    /// <exception cref="ArgumentException">The input shape is empty or has a dimension below 1.</exception>
    public static OnnxModel Capture(nn.Module module, long[] inputShape, CaptureOptions? options = null) =>
        CaptureGraph(module, inputShape, options).ToModel();

    /// <summary>Captures <paramref name="module"/> and saves it as an ONNX file at <paramref name="path"/>; returns the model.</summary>
    /// <param name="module">The module; its forward must take and return one tensor.</param>
    /// <param name="inputShape">The input's shape with the batch first.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="options">Input/output names and batch handling; defaults when null.</param>
    /// <exception cref="ModuleCaptureException">A module cannot be captured; the message names its path and type.</exception>
    public static OnnxModel Export(nn.Module module, long[] inputShape, string path, CaptureOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var model = Capture(module, inputShape, options);
        model.Save(path);
        return model;
    }

    /// <summary>Captures <paramref name="module"/> as our graph IR (the same graph <see cref="Capture"/> turns into a model).</summary>
    /// <inheritdoc cref="Capture" />
    public static OnnxGraph CaptureGraph(nn.Module module, long[] inputShape, CaptureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length < 2 || inputShape.Any(d => d < 1))
            throw new ArgumentException($"The input shape [{string.Join(", ", inputShape)}] must have the batch first and at least one more dimension, all ≥ 1.", nameof(inputShape));
        options ??= new CaptureOptions();
        options.Validate();
        TorchSharpRuntime.EnsureLoaded();
        var builder = new GraphBuilder(options, (long[])inputShape.Clone());
        var result = ModuleWalker.Capture(builder, "", module, builder.Input);
        return builder.Build(result);
    }
}
