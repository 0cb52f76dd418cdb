using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>Builds small ONNX graphs by hand for annotation tests.</summary>
internal sealed class TestGraphBuilder
{
    private readonly GraphProto _graph = new() { Name = "test" };
    private readonly long _opset;

    public TestGraphBuilder(long opset = 13) => _opset = opset;

    public TestGraphBuilder Input(string name, params long[] dims)
    {
        _graph.Input.Add(ValueInfo(name, dims));
        return this;
    }

    /// <summary>An input whose dims are numbers or symbolic names (e.g. <c>"batch"</c>, <c>"tokens"</c>, <c>"8"</c>).</summary>
    public TestGraphBuilder SymbolicInput(string name, params string[] dims)
    {
        var info = ValueInfo(name, []);
        foreach (string d in dims)
            info.Type.TensorType.Shape.Dim.Add(long.TryParse(d, out long value)
                ? new TensorShapeProto.Types.Dimension { DimValue = value }
                : new TensorShapeProto.Types.Dimension { DimParam = d });
        _graph.Input.Add(info);
        return this;
    }

    public TestGraphBuilder Output(string name, params long[] dims)
    {
        _graph.Output.Add(ValueInfo(name, dims));
        return this;
    }

    /// <summary>A float initializer filled with 0.01·(i+1).</summary>
    public TestGraphBuilder Initializer(string name, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        long count = dims.Aggregate(1L, (a, b) => a * b);
        for (long i = 0; i < count; i++)
            tensor.FloatData.Add(0.01f * (i + 1));
        _graph.Initializer.Add(tensor);
        return this;
    }

    public TestGraphBuilder Node(string opType, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (attrName, value) in attributes)
        {
            var attribute = new AttributeProto { Name = attrName };
            switch (value)
            {
                case long l:
                    attribute.Type = AttributeProto.Types.AttributeType.Int;
                    attribute.I = l;
                    break;
                case int i:
                    attribute.Type = AttributeProto.Types.AttributeType.Int;
                    attribute.I = i;
                    break;
                case float f:
                    attribute.Type = AttributeProto.Types.AttributeType.Float;
                    attribute.F = f;
                    break;
                case long[] ls:
                    attribute.Type = AttributeProto.Types.AttributeType.Ints;
                    attribute.Ints.AddRange(ls);
                    break;
                default:
                    throw new ArgumentException($"Unsupported attribute value {value}.");
            }

            node.Attribute.Add(attribute);
        }

        _graph.Node.Add(node);
        return this;
    }

    public OnnxGraph Build()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = _opset });
        return OnnxGraph.FromModel(new OnnxModel(model, "test", null));
    }

    private static ValueInfoProto ValueInfo(string name, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}

/// <summary>Finders over a graph by node name.</summary>
internal static class GraphTestExtensions
{
    public static OnnxNode Node(this OnnxGraph graph, string name) =>
        graph.Nodes.Single(n => n.Name == name);
}
