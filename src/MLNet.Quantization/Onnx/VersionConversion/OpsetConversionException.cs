namespace MLNet.Quantization.Onnx.VersionConversion;

/// <summary>
/// A model cannot be converted to the requested ONNX opset. The message names the node and operator at fault (when one
/// is), the model's opset, the requested opset and the reason.
/// </summary>
public sealed class OpsetConversionException : NotSupportedException
{
    /// <summary>Creates the exception.</summary>
    public OpsetConversionException(string message, string? nodeName, string? opType, long sourceOpset, long targetOpset)
        : base(message)
    {
        NodeName = nodeName;
        OpType = opType;
        SourceOpset = sourceOpset;
        TargetOpset = targetOpset;
    }

    /// <summary>The node that cannot be converted, or null when the whole model is refused.</summary>
    public string? NodeName { get; }

    /// <summary>The node's operator, or null when the whole model is refused.</summary>
    public string? OpType { get; }

    /// <summary>The model's default-domain opset.</summary>
    public long SourceOpset { get; }

    /// <summary>The requested opset.</summary>
    public long TargetOpset { get; }
}
