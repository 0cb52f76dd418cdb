using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// A string attribute whose default or spelling changed: RoiAlign 10 → 16 (the new coordinate_transformation_mode
/// defaults to half_pixel; opset 10 behaved as output_half_pixel, so that is written out when absent) and GridSample
/// 16 → 20 (mode 'bilinear'/'bicubic' renamed 'linear'/'cubic').
/// </summary>
internal sealed class StringAttributeAdapter : OpsetAdapter
{
    private readonly string _attribute;
    private readonly string? _oldDefault;
    private readonly IReadOnlyDictionary<string, string> _renames;

    public StringAttributeAdapter(string opType, int opset, string attribute, string? oldDefault, IReadOnlyDictionary<string, string> renames)
        : base(opType, opset)
    {
        _attribute = attribute;
        _oldDefault = oldDefault;
        _renames = renames;
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        string? value = node.HasAttribute(_attribute) ? node.GetString(_attribute, "") : _oldDefault;
        if (value is null)
            return;
        node.SetString(_attribute, _renames.GetValueOrDefault(value, value));
    }
}
