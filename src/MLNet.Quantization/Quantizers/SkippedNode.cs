namespace MLNet.Quantization.Quantizers;

/// <summary>A node a quantizer left in float, and why.</summary>
/// <param name="NodeName">The node's name.</param>
/// <param name="OpType">The node's operator type.</param>
/// <param name="Reason">Why it was not quantized, for the report.</param>
public sealed record SkippedNode(string NodeName, string OpType, string Reason);
