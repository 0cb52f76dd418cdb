namespace MLNet.Quantization.Onnx;

/// <summary>How <see cref="OnnxModel.Save(string, OnnxSaveOptions?)"/> writes a model to a file.</summary>
public sealed class OnnxSaveOptions
{
    private readonly long _sizeThreshold = 1024;

    /// <summary>
    /// When true, every initializer whose data is at least <see cref="SizeThreshold"/> bytes is written to one external
    /// data file next to the model (ONNX's external-data convention), and the model file keeps only its location,
    /// offset and length. Needed for models over the 2 GB protobuf limit. Initializers stored in typed fields
    /// (float_data, int64_data, ...) instead of raw_data stay inline.
    /// When false (the default), tensors that were external in the loaded model are read back into the model file.
    /// </summary>
    public bool UseExternalData { get; init; }

    /// <summary>
    /// The external data file's name, relative to the model's folder (no absolute path, no <c>..</c>).
    /// Null means the model's file name plus <c>.data</c>, e.g. <c>model.onnx.data</c>.
    /// </summary>
    public string? ExternalDataFileName { get; init; }

    /// <summary>The smallest tensor, in bytes, written to the external file. Default 1024, as in ONNX's own tools.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long SizeThreshold
    {
        get => _sizeThreshold;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _sizeThreshold = value;
        }
    }

    /// <summary>The largest model protobuf that may be written; protobuf's own limit (2 GB − 1) unless a test lowers it.</summary>
    internal long MaxProtobufBytes { get; init; } = int.MaxValue;

    /// <summary>The buffer size used to copy external data from the source file to the destination file.</summary>
    internal int CopyBufferSize { get; init; } = 1 << 20;
}
