using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// A schema change this converter deliberately does not rewrite, refused with its reason: DFT 17 → 20 (axis moved to
/// an input) and GroupNormalization 18 → 21 (scale and bias changed from per-group to per-channel).
/// </summary>
internal sealed class RefusalAdapter : OpsetAdapter
{
    private readonly string _reason;

    public RefusalAdapter(string opType, int opset, string reason)
        : base(opType, opset) => _reason = reason;

    public override void Adapt(OnnxNode node, ConversionContext context) => throw context.Refuse(node, Opset, _reason);
}
