using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Resize 10 → 11: an <c>roi</c> input appears between X and scales (an empty float tensor: it only matters for
/// tf_crop_and_resize), and the coordinate mapping becomes configurable. Opset 10's mapping is x_in = x_out / scale
/// (<c>asymmetric</c>), with nearest taking the floor when upsampling. Nearest downsampling by constant scales is refused:
/// ONNX Runtime's opset-10 kernel rounds those up, which no opset-11 nearest_mode reproduces for every size.
/// </summary>
internal sealed class ResizeCoordinateModeAdapter : OpsetAdapter
{
    public ResizeCoordinateModeAdapter()
        : base("Resize", 11)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.Inputs.Count < 2 || node.Inputs[1].Length == 0)
            throw context.Refuse(node, Opset, "Resize-10 needs a 'scales' input");
        string mode = node.GetString("mode", "nearest");
        string scales = node.Inputs[1];
        if (mode == "nearest" && context.Graph.TryGetConstant(scales, out var s) && s.ToFloatArray().Any(v => v < 1f))
            throw context.Refuse(node, Opset, "nearest downsampling (a scale below 1) rounds differently before opset 11");
        string roi = context.AddFloats(node, "roi", [0], []);
        context.Graph.ReplaceInput(node, 1, roi);
        context.Graph.AppendInput(node, scales);
        node.SetString("coordinate_transformation_mode", "asymmetric");
        if (mode == "nearest")
            node.SetString("nearest_mode", "floor");
    }
}
