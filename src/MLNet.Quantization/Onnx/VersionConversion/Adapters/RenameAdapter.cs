using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// An operator deprecated in favour of another with the same inputs, attributes and (widened) semantics: Scatter-9
/// becomes ScatterElements-11, which only adds negative indices.
/// </summary>
internal sealed class RenameAdapter : OpsetAdapter
{
    private readonly string _newOpType;

    public RenameAdapter(string opType, int opset, string newOpType)
        : base(opType, opset) => _newOpType = newOpType;

    public override void Adapt(OnnxNode node, ConversionContext context) => ConversionContext.Rename(node, _newOpType);
}
