using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Clip 6 → 11: the <c>min</c>/<c>max</c> attributes become scalar inputs of the data's type; an absent one becomes an
/// absent input (its opset-6 default was the type's lowest/highest value, i.e. no bound, as an absent input is).
/// </summary>
internal sealed class ClipAdapter : OpsetAdapter
{
    public ClipAdapter()
        : base("Clip", 11)
    {
    }

    public override bool NeedsTensorInfo => true;

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        bool hasMin = node.HasAttribute("min"), hasMax = node.HasAttribute("max");
        float min = node.GetFloat("min", float.MinValue), max = node.GetFloat("max", float.MaxValue);
        node.RemoveAttribute("min");
        node.RemoveAttribute("max");
        string x = node.Inputs[0];
        if (hasMin || hasMax)
            context.SetInput(node, 1, hasMin ? context.AddScalarLike(node, "min", x, min) : "");
        if (hasMax)
            context.SetInput(node, 2, context.AddScalarLike(node, "max", x, max));
    }
}
