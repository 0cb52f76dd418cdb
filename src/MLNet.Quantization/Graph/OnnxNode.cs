using System.Text;
using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Graph;

/// <summary>
/// One ONNX node. Its inputs and outputs change only through <see cref="OnnxGraph"/>, which keeps the producer and
/// consumer maps right; attributes can be read and written here.
/// </summary>
public sealed class OnnxNode
{
    internal OnnxNode(NodeProto proto) => Proto = proto;

    internal NodeProto Proto { get; }

    /// <summary>The node's name (unique within the graph once it is in one).</summary>
    public string Name => Proto.Name;

    /// <summary>The operator, e.g. <c>Conv</c>.</summary>
    public string OpType => Proto.OpType;

    /// <summary>The operator's domain; <c>""</c> is the default ONNX domain.</summary>
    public string Domain => Proto.Domain;

    /// <summary>True for the default ONNX operator set (domain empty or <c>ai.onnx</c>).</summary>
    public bool IsDefaultDomain => Proto.Domain is "" or "ai.onnx";

    /// <summary>Input tensor names; <c>""</c> marks an absent optional input.</summary>
    public IReadOnlyList<string> Inputs => Proto.Input;

    /// <summary>Output tensor names.</summary>
    public IReadOnlyList<string> Outputs => Proto.Output;

    /// <summary>True when the node has subgraph attributes (If, Loop, Scan).</summary>
    public bool HasSubgraphs => Proto.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0);

    /// <summary>True when the attribute is present.</summary>
    public bool HasAttribute(string name) => Find(name) is not null;

    /// <summary>An int attribute, or <paramref name="defaultValue"/>.</summary>
    public long GetInt(string name, long defaultValue) => Find(name) is { } a ? a.I : defaultValue;

    /// <summary>A float attribute, or <paramref name="defaultValue"/>.</summary>
    public float GetFloat(string name, float defaultValue) => Find(name) is { } a ? a.F : defaultValue;

    /// <summary>A string attribute, or <paramref name="defaultValue"/>.</summary>
    public string GetString(string name, string defaultValue) => Find(name) is { } a ? a.S.ToString(Encoding.UTF8) : defaultValue;

    /// <summary>An ints attribute (empty when absent).</summary>
    public IReadOnlyList<long> GetInts(string name) => Find(name)?.Ints ?? (IReadOnlyList<long>)[];

    /// <summary>A floats attribute (empty when absent).</summary>
    public IReadOnlyList<float> GetFloats(string name) => Find(name)?.Floats ?? (IReadOnlyList<float>)[];

    /// <summary>A tensor attribute, or null.</summary>
    public TensorData? GetTensor(string name) => Find(name)?.T is { } t ? new TensorData(t, null) : null;

    /// <summary>Sets an int attribute.</summary>
    public void SetInt(string name, long value) => Set(name, AttributeProto.Types.AttributeType.Int, a => a.I = value);

    /// <summary>Sets a float attribute.</summary>
    public void SetFloat(string name, float value) => Set(name, AttributeProto.Types.AttributeType.Float, a => a.F = value);

    /// <summary>Sets a string attribute.</summary>
    public void SetString(string name, string value) => Set(name, AttributeProto.Types.AttributeType.String, a => a.S = ByteString.CopyFromUtf8(value));

    /// <summary>Sets an ints attribute.</summary>
    public void SetInts(string name, IEnumerable<long> values) => Set(name, AttributeProto.Types.AttributeType.Ints, a => a.Ints.AddRange(values));

    /// <summary>Sets a floats attribute.</summary>
    public void SetFloats(string name, IEnumerable<float> values) => Set(name, AttributeProto.Types.AttributeType.Floats, a => a.Floats.AddRange(values));

    /// <summary>Sets a tensor attribute.</summary>
    public void SetTensor(string name, TensorData value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Set(name, AttributeProto.Types.AttributeType.Tensor, a => a.T = value.Proto.Clone());
    }

    /// <summary>Removes an attribute; returns whether it was there.</summary>
    public bool RemoveAttribute(string name)
    {
        var a = Find(name);
        return a is not null && Proto.Attribute.Remove(a);
    }

    private AttributeProto? Find(string name) => Proto.Attribute.FirstOrDefault(a => a.Name == name);

    private void Set(string name, AttributeProto.Types.AttributeType type, Action<AttributeProto> fill)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var attr = new AttributeProto { Name = name, Type = type };
        fill(attr);
        int index = Proto.Attribute.ToList().FindIndex(a => a.Name == name);
        if (index >= 0)
            Proto.Attribute[index] = attr;
        else
            Proto.Attribute.Add(attr);
    }

    /// <inheritdoc />
    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}
