using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Dropout 7 → 10: the optional <c>mask</c> output changed type from the data's type to bool. An unread mask is
/// dropped; a read one is refused, since its consumers would get another type.
/// </summary>
internal sealed class DropoutMaskAdapter : OpsetAdapter
{
    public DropoutMaskAdapter()
        : base("Dropout", 10)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.Outputs.Count <= 1)
            return;
        if (node.Outputs[1].Length > 0 && context.Graph.IsUsed(node.Outputs[1]))
            throw context.Refuse(node, Opset, $"its mask output '{node.Outputs[1]}' is read, and the mask's type changes to bool at opset 10");
        context.KeepOutputs(node, 1);
    }
}
