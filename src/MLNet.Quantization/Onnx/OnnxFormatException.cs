namespace MLNet.Quantization.Onnx;

/// <summary>
/// An ONNX model could not be read or is malformed. The message names the source (file, "&lt;stream&gt;" or "&lt;bytes&gt;")
/// and what is wrong with it.
/// </summary>
public sealed class OnnxFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxFormatException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        Source = source;
        Problem = problem;
    }

    /// <summary>Where the model came from.</summary>
    public new string Source { get; }

    /// <summary>What is wrong, without the source prefix.</summary>
    public string Problem { get; }
}
