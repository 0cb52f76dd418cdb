using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Upsample 9 → 10: Upsample is deprecated at 10; Resize-10 has the same inputs (X, scales), attribute (mode) and
/// semantics, so the node is renamed. The Resize 10 → 11 step then spells out the coordinate mapping.
/// </summary>
internal sealed class UpsampleToResizeAdapter : OpsetAdapter
{
    public UpsampleToResizeAdapter()
        : base("Upsample", 10)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context) => ConversionContext.Rename(node, "Resize");
}
