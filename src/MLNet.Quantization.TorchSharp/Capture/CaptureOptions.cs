namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>Names and shape conventions for <see cref="TorchSharpExporter"/>.</summary>
public sealed class CaptureOptions
{
    /// <summary>The graph input's name; <c>input</c> by default.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The graph output's name; <c>output</c> by default.</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>
    /// When true (the default), the first dimension of the input and of every tensor that keeps it is the symbolic
    /// <see cref="BatchDimensionName"/>, so the model runs on any batch size; when false, the capture shape is fixed.
    /// </summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>The symbolic name of the batch dimension; <c>batch</c> by default.</summary>
    public string BatchDimensionName { get; init; } = "batch";

    /// <summary>The ONNX graph's name; <c>torchsharp</c> by default.</summary>
    public string GraphName { get; init; } = "torchsharp";

    internal void Validate()
    {
        if (string.IsNullOrEmpty(InputName))
            throw new ArgumentException("CaptureOptions.InputName must not be empty.");
        if (string.IsNullOrEmpty(OutputName))
            throw new ArgumentException("CaptureOptions.OutputName must not be empty.");
        if (InputName == OutputName)
            throw new ArgumentException($"CaptureOptions.InputName and OutputName are both '{InputName}'; they must differ.");
        if (DynamicBatch && string.IsNullOrEmpty(BatchDimensionName))
            throw new ArgumentException("CaptureOptions.BatchDimensionName must not be empty when DynamicBatch is on.");
        if (string.IsNullOrEmpty(GraphName))
            throw new ArgumentException("CaptureOptions.GraphName must not be empty.");
    }
}
