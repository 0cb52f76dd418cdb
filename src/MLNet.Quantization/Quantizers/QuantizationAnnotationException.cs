namespace MLNet.Quantization.Quantizers;

/// <summary>Annotations that cannot be prepared: the message names the node, input or spec at fault.</summary>
public class QuantizationAnnotationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QuantizationAnnotationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public QuantizationAnnotationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
