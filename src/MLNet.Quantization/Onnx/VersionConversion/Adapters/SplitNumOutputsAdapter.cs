using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Split 13 → 18: without a <c>split</c> input the new schema needs <c>num_outputs</c>; an equal split into the node's
/// output count means the same (opset 18 only adds an uneven last chunk, which an equal split never needs).
/// </summary>
internal sealed class SplitNumOutputsAdapter : OpsetAdapter
{
    public SplitNumOutputsAdapter()
        : base("Split", 18)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.Inputs.Count < 2 || node.Inputs[1].Length == 0)
            node.SetInt("num_outputs", node.Outputs.Count);
    }
}
