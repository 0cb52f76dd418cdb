using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion;

/// <summary>Rewrites one operator's node from the schema before <see cref="Opset"/> to the schema at <see cref="Opset"/>.</summary>
internal abstract class OpsetAdapter
{
    protected OpsetAdapter(string opType, int opset)
    {
        OpType = opType;
        Opset = opset;
    }

    /// <summary>The operator this adapter converts.</summary>
    public string OpType { get; }

    /// <summary>The opset whose schema the node is converted to (from the one before it).</summary>
    public int Opset { get; }

    /// <summary>True when the adapter needs element types or ranks of tensors (inferred once, on the unconverted model).</summary>
    public virtual bool NeedsTensorInfo => false;

    /// <summary>Converts <paramref name="node"/> in place or replaces it, or refuses through <see cref="ConversionContext.Refuse"/>.</summary>
    public abstract void Adapt(OnnxNode node, ConversionContext context);
}
