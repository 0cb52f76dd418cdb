namespace MLNet.Quantization.Quantizers;

/// <summary>
/// The specs a quantizer applies to one pattern: input activations, output activations, weights and bias;
/// PyTorch's <c>QuantizationConfig</c> (from <c>xnnpack_quantizer_utils</c>).
/// </summary>
/// <param name="InputActivation">Spec of activation inputs; <c>null</c> leaves them in float.</param>
/// <param name="OutputActivation">Spec of activation outputs where a pattern quantizes its output.</param>
/// <param name="Weight">Spec of constant weights. Its <see cref="QuantizationSpec.ChannelAxis"/> is a default the quantizer
/// replaces with the operator's output-channel axis.</param>
/// <param name="Bias">Spec of constant biases; <c>null</c> leaves them in float. A <see cref="DerivedQuantizationSpec"/>
/// template (empty <see cref="DerivedQuantizationSpec.DerivedFrom"/>) is bound to each node's activation and weight edges.</param>
/// <param name="IsQat">True for quantization-aware training (fake quantization while training).</param>
public sealed record QuantizationConfig(
    QuantizationSpec? InputActivation,
    QuantizationSpec? OutputActivation,
    QuantizationSpec? Weight,
    QuantizationSpecBase? Bias,
    bool IsQat = false)
{
    /// <summary>True when input activations are quantized dynamically (at run time).</summary>
    public bool IsDynamic => InputActivation?.IsDynamic == true;
}
