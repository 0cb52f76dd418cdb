using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// BatchNormalization 9 → 14: the five outputs (Y, mean, var, saved_mean, saved_var) become Y plus running_mean and
/// running_var that exist only with training_mode=1. The extra outputs are only computed in training, so they are dropped
/// when nothing reads them and refused when something does.
/// </summary>
internal sealed class BatchNormalizationTrainingOutputsAdapter : OpsetAdapter
{
    public BatchNormalizationTrainingOutputsAdapter()
        : base("BatchNormalization", 14)
    {
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (node.Outputs.Count <= 1)
            return;
        var used = node.Outputs.Skip(1).FirstOrDefault(o => o.Length > 0 && context.Graph.IsUsed(o));
        if (used is not null)
            throw context.Refuse(node, Opset, $"its training-mode output '{used}' is read; opset 14 has no inference-mode equivalent");
        context.KeepOutputs(node, 1);
    }
}
