using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Dropout 10 → 12: the <c>ratio</c> attribute becomes a float scalar input (training_mode, a new input, defaults to
/// false, so the node stays the identity at inference).
/// </summary>
internal sealed class DropoutRatioAdapter : OpsetAdapter
{
    public DropoutRatioAdapter()
        : base("Dropout", 12)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (!node.HasAttribute("ratio"))
            return;
        float ratio = node.GetFloat("ratio", 0.5f);
        node.RemoveAttribute("ratio");
        context.SetInput(node, 1, context.AddFloats(node, "ratio", [], [ratio]));
    }
}
