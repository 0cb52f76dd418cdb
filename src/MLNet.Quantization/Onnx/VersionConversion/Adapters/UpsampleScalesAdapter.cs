using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>Upsample 7 → 9: the <c>scales</c> attribute becomes a float input.</summary>
internal sealed class UpsampleScalesAdapter : OpsetAdapter
{
    public UpsampleScalesAdapter()
        : base("Upsample", 9)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (!node.HasAttribute("scales"))
            throw context.Refuse(node, Opset, "Upsample-7 needs a 'scales' attribute");
        var scales = node.GetFloats("scales").ToArray();
        node.RemoveAttribute("scales");
        context.SetInput(node, 1, context.AddFloats(node, "scales", [scales.Length], scales));
    }
}
