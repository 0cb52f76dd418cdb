using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Pad 2 → 11: the <c>pads</c> attribute (<c>paddings</c> in Pad-1 files) becomes an int64 input and the constant
/// <c>value</c> becomes a scalar input of the data's type; <c>mode</c> stays an attribute.
/// </summary>
internal sealed class PadAdapter : OpsetAdapter
{
    public PadAdapter()
        : base("Pad", 11)
    {
    }

    public override bool NeedsTensorInfo => true;

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        string padsName = node.HasAttribute("pads") ? "pads" : "paddings";
        if (!node.HasAttribute(padsName))
            throw context.Refuse(node, Opset, "Pad-2 needs a 'pads' attribute");
        var pads = node.GetInts(padsName).ToArray();
        bool hasValue = node.HasAttribute("value");
        float value = node.GetFloat("value", 0f);
        node.RemoveAttribute(padsName);
        node.RemoveAttribute("value");
        context.SetInput(node, 1, context.AddInt64s(node, "pads", pads));
        if (hasValue && node.GetString("mode", "constant") == "constant")
            context.SetInput(node, 2, context.AddScalarLike(node, "value", node.Inputs[0], value));
    }
}
