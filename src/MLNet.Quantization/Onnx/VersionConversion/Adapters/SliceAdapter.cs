using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>Slice 1 → 10: the <c>starts</c>, <c>ends</c> and optional <c>axes</c> attributes become int64 inputs 1–3.</summary>
internal sealed class SliceAdapter : OpsetAdapter
{
    public SliceAdapter()
        : base("Slice", 10)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (!node.HasAttribute("starts") || !node.HasAttribute("ends"))
            throw context.Refuse(node, Opset, "Slice-1 needs both 'starts' and 'ends' attributes");
        var starts = node.GetInts("starts").ToArray();
        var ends = node.GetInts("ends").ToArray();
        var axes = node.GetInts("axes").ToArray();
        if (starts.Length != ends.Length || (axes.Length > 0 && axes.Length != starts.Length))
            throw context.Refuse(node, Opset, $"'starts' ({starts.Length}), 'ends' ({ends.Length}) and 'axes' ({axes.Length}) differ in length");
        foreach (var name in new[] { "starts", "ends", "axes" })
            node.RemoveAttribute(name);
        context.SetInput(node, 1, context.AddInt64s(node, "starts", starts));
        context.SetInput(node, 2, context.AddInt64s(node, "ends", ends));
        if (axes.Length > 0)
            context.SetInput(node, 3, context.AddInt64s(node, "axes", axes));
    }
}
