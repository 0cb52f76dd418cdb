using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx.VersionConversion;

/// <summary>Builds small models at a given opset for conversion tests: float inputs, typed outputs, initializers, nodes.</summary>
internal sealed class OpsetModelBuilder
{
    private readonly GraphProto _graph = new() { Name = "conversion_test" };
    private readonly long _opset;
    private readonly long _irVersion;

    public OpsetModelBuilder(long opset, long irVersion = 3)
    {
        _opset = opset;
        _irVersion = irVersion;
    }

    public OpsetModelBuilder Input(string name, params long[] dims)
    {
        _graph.Input.Add(Value(name, TensorProto.Types.DataType.Float, dims));
        return this;
    }

    public OpsetModelBuilder Output(string name, TensorProto.Types.DataType type = TensorProto.Types.DataType.Float)
    {
        _graph.Output.Add(Value(name, type, null));
        return this;
    }

    /// <summary>A float initializer, also listed as a graph input as IR-3 models do.</summary>
    public OpsetModelBuilder Floats(string name, long[] dims, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        _graph.Initializer.Add(t);
        _graph.Input.Add(Value(name, TensorProto.Types.DataType.Float, dims));
        return this;
    }

    public OpsetModelBuilder Int64s(string name, long[] dims, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        _graph.Initializer.Add(t);
        return this;
    }

    /// <summary>Adds a node; attributes are (name, long | float | string | long[] | float[]) pairs.</summary>
    public OpsetModelBuilder Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes) =>
        DomainNode("", opType, inputs, outputs, attributes);

    public OpsetModelBuilder DomainNode(string domain, string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType.ToLowerInvariant()}_{_graph.Node.Count}", Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
            node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
        return this;
    }

    public ModelProto Build(params (string Domain, long Version)[] extraOpsets)
    {
        var model = new ModelProto { IrVersion = _irVersion, ProducerName = "tests", Graph = _graph.Clone() };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = _opset });
        foreach (var (domain, version) in extraOpsets)
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        FillOutputShapes(model);
        return model;
    }

    // onnx.checker wants every graph output's shape; ONNX Runtime infers them on the original model (when it loads it:
    // refusal tests build models ORT rejects)
    private static void FillOutputShapes(ModelProto model)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        InferenceSession session;
        try
        {
            session = new InferenceSession(model.ToByteArray(), options);
        }
        catch (OnnxRuntimeException)
        {
            return;
        }

        using var owned = session;
        foreach (var output in model.Graph.Output.Where(o => o.Type.TensorType.Shape is null))
        {
            var shape = new TensorShapeProto();
            foreach (var d in session.OutputMetadata[output.Name].Dimensions)
                shape.Dim.Add(d >= 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension());
            output.Type.TensorType.Shape = shape;
        }
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ints => WithInts(name, ints),
        float[] floats => WithFloats(name, floats),
        _ => throw new ArgumentException($"Unsupported attribute value {value.GetType()}", nameof(value)),
    };

    private static AttributeProto WithInts(string name, long[] ints)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(ints);
        return a;
    }

    private static AttributeProto WithFloats(string name, float[] floats)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(floats);
        return a;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, long[]? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in dims)
                tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
