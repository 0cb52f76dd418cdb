using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// BatchNormalization 7 → 9: the <c>spatial</c> attribute is gone (opset 9 always normalizes per channel, as spatial=1
/// did). spatial=0 (per-activation statistics) cannot be expressed, unless every statistic is a 1-D per-channel tensor
/// anyway. The long-removed <c>is_test</c> and <c>consumed_inputs</c> are dropped too (CNTK writes them).
/// </summary>
internal sealed class BatchNormalizationSpatialAdapter : OpsetAdapter
{
    public BatchNormalizationSpatialAdapter()
        : base("BatchNormalization", 9)
    {
    }

    public override bool NeedsTensorInfo => true;

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.GetInt("spatial", 1) == 0 && node.Inputs.Skip(1).Any(s => context.Rank(s) != 1))
            throw context.Refuse(node, Opset, "spatial=0 (per-activation statistics) has no equivalent after opset 9 unless scale, bias, mean and var are 1-D per-channel tensors");
        node.RemoveAttribute("spatial");
        node.RemoveAttribute("is_test");
        node.RemoveAttribute("consumed_inputs");
    }
}
