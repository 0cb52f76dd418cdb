namespace MLNet.Quantization.Graph;

/// <summary>A graph edit or query is invalid; the message names the graph, node or tensor at fault.</summary>
public sealed class OnnxGraphException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxGraphException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
