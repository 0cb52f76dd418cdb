namespace MLNet.Quantization.Quantizers;

/// <summary>
/// How one node's inputs and output are quantized; PyTorch's <c>QuantizationAnnotation</c>.
/// </summary>
/// <remarks>
/// A node with an annotation whose <see cref="InputQSpecMap"/> is empty and <see cref="OutputQSpec"/> is null but
/// <see cref="Annotated"/> true is "claimed": a quantizer looked at it (for example a Relu fused into a Conv pattern,
/// or a node a <c>null</c> config keeps in float) and other patterns must not annotate it again.
/// In static quantization an output is usually left without a spec and quantized where a consumer annotates its
/// input; set <see cref="OutputQSpec"/> for ops whose output must carry its own parameters.
/// </remarks>
public sealed class QuantizationAnnotation
{
    /// <summary>Specs of the quantized inputs, keyed by the node's input index (weights and biases are inputs too, as in ONNX).</summary>
    public Dictionary<int, QuantizationSpecBase> InputQSpecMap { get; } = [];

    /// <summary>Spec of the node's first output (index 0), or <c>null</c> to leave it to consumers.</summary>
    public QuantizationSpecBase? OutputQSpec { get; set; }

    /// <summary>True once a quantizer has claimed the node; other patterns skip it.</summary>
    public bool Annotated { get; set; }

    /// <summary>True when the annotation quantizes something (an input or the output).</summary>
    public bool QuantizesAnything => InputQSpecMap.Count > 0 || OutputQSpec is not null;
}
