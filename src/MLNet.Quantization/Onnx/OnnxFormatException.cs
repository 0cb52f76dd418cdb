namespace MLNet.Quantization.Onnx;

/// <summary>
/// Thrown when bytes, a stream or a file are not a well-formed ONNX model, when a model's external data cannot be
/// read, or when a model cannot be written in ONNX's protobuf format as asked (for example over the 2 GB protobuf
/// limit without external data). The message starts with the model's name (its file, or <c>&lt;stream&gt;</c> /
/// <c>&lt;bytes&gt;</c>) and says what is wrong.
/// </summary>
public sealed class OnnxFormatException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public OnnxFormatException()
        : base("The ONNX model is malformed.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong, naming the model.</param>
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and the failure that caused it.</summary>
    /// <param name="message">What is wrong, naming the model.</param>
    /// <param name="innerException">The underlying failure.</param>
    public OnnxFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    private OnnxFormatException(string modelName, string problem, Exception? innerException)
        : base($"{modelName}: {problem}", innerException)
    {
        ModelName = modelName;
    }

    /// <summary>
    /// The model the problem was found in: its file path, the caller-given name, or <c>&lt;stream&gt;</c> /
    /// <c>&lt;bytes&gt;</c>. Null when the exception was created without one.
    /// </summary>
    public string? ModelName { get; }

    /// <summary>Creates an exception whose message is "<paramref name="modelName"/>: <paramref name="problem"/>".</summary>
    internal static OnnxFormatException For(string modelName, string problem, Exception? innerException = null) =>
        new(modelName, problem, innerException);
}
