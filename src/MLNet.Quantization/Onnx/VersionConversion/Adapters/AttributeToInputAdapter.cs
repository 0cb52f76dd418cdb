using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// An int64 list attribute that became an input at <see cref="OpsetAdapter.Opset"/>: Squeeze/Unsqueeze/Split/ReduceSum
/// at 13, the other Reduce ops at 18 (<c>axes</c> or <c>split</c> → input 1), TopK at 10 (<c>k</c> → a [1] input).
/// An absent optional attribute stays an absent input, which means the same (all axes, equal split).
/// </summary>
internal sealed class AttributeToInputAdapter : OpsetAdapter
{
    private readonly string _attribute;
    private readonly int _inputIndex;
    private readonly bool _required;
    private readonly bool _scalarAsList;

    public AttributeToInputAdapter(string opType, int opset, string attribute, int inputIndex, bool required = false, bool scalarAsList = false)
        : base(opType, opset)
    {
        _attribute = attribute;
        _inputIndex = inputIndex;
        _required = required;
        _scalarAsList = scalarAsList;
    }

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        if (!node.HasAttribute(_attribute))
        {
            if (_required)
                throw context.Refuse(node, Opset, $"the required attribute '{_attribute}' is missing");
            return;
        }

        IReadOnlyList<long> values = _scalarAsList ? [node.GetInt(_attribute, 0)] : node.GetInts(_attribute).ToArray();
        node.RemoveAttribute(_attribute);
        context.SetInput(node, _inputIndex, context.AddInt64s(node, _attribute, values));
    }
}
