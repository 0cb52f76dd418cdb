namespace MLNet.Quantization.Onnx;

/// <summary>How <see cref="OnnxModel.Save(string, OnnxSaveOptions?)"/> writes tensors.</summary>
public sealed class OnnxSaveOptions
{
    /// <summary>Write large initializers to a separate data file (required above protobuf's 2 GB limit).</summary>
    public bool UseExternalData { get; init; }

    /// <summary>The data file's name, beside the model; defaults to the model's file name plus <c>.data</c>.</summary>
    public string? ExternalDataFileName { get; init; }

    /// <summary>Initializers of at least this many bytes go to the data file. Default 1024.</summary>
    public long SizeThreshold { get; init; } = 1024;
}
