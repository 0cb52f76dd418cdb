using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Resize 11 → 13: roi and scales became optional (a widening) and the <c>tf_half_pixel_for_nn</c> coordinate mode was
/// removed; a node using it is refused, since no opset-13 mode maps coordinates the same way.
/// </summary>
internal sealed class ResizeHalfPixelForNearestAdapter : OpsetAdapter
{
    public ResizeHalfPixelForNearestAdapter()
        : base("Resize", 13)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.GetString("coordinate_transformation_mode", "half_pixel") == "tf_half_pixel_for_nn")
            throw context.Refuse(node, Opset, "coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed at opset 13");
    }
}
