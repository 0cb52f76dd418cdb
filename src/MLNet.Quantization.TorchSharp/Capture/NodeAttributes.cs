using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>Sets the attributes of a node being captured; setting a name again replaces its value in place.</summary>
internal sealed class NodeAttributes(NodeProto node)
{
    public void SetInt(string name, long value) => Set(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    public void SetFloat(string name, float value) => Set(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    public void SetInts(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        Set(attribute);
    }

    private void Set(AttributeProto attribute)
    {
        int index = node.Attribute.ToList().FindIndex(a => a.Name == attribute.Name);
        if (index >= 0)
            node.Attribute[index] = attribute;
        else
            node.Attribute.Add(attribute);
    }
}
