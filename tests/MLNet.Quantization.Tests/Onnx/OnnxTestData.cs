using System.Buffers.Binary;
using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

/// <summary>Paths to the shared models and builders for small hand-made ONNX models.</summary>
internal static class OnnxTestData
{
    internal static readonly string[] SharedModels = ["fmnist_cnn", "fmnist_rowtf", "fmnist_mobile"];

    internal static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");

    internal static byte[] ModelBytes(string name) => File.ReadAllBytes(ModelPath(name));

    /// <summary>Little-endian IEEE bytes of the floats, as ONNX raw_data stores them.</summary>
    internal static byte[] FloatBytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    internal static TensorProto RawFloatTensor(string name, long[] dims, params float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = 1, RawData = ByteString.CopyFrom(FloatBytes(values)) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    internal static ValueInfoProto FloatValue(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } },
        };
    }

    internal static NodeProto Node(string opType, string name, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    internal static ModelProto Model(GraphProto graph, long opset = 13)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opset });
        return model;
    }

    /// <summary>The weight of <see cref="MatMulModel"/>, [4,3] row-major.</summary>
    internal static readonly float[] MatMulWeight =
    [
        1f, 0f, 2f,
        0f, 1f, 0f,
        1f, 1f, 1f,
        0f, 0.5f, -1f,
    ];

    /// <summary>
    /// Y[1,3] = X[1,4] · W[4,3] with W = <see cref="MatMulWeight"/>, plus a 3-element bias B (1, 2, 3) added after:
    /// Z = Y + B. For X = (1, 2, 3, 4): Y_j = Σ_i X_i W_ij = (1+3, 2+3+2, 2+3−4) = (4, 7, 1) and Z = (5, 9, 4).
    /// </summary>
    internal static ModelProto MatMulModel()
    {
        var graph = new GraphProto { Name = "matmul" };
        graph.Input.Add(FloatValue("X", 1, 4));
        graph.Initializer.Add(RawFloatTensor("W", [4, 3], MatMulWeight));
        graph.Initializer.Add(RawFloatTensor("B", [3], 1f, 2f, 3f));
        graph.Node.Add(Node("MatMul", "mm", ["X", "W"], ["Y"]));
        graph.Node.Add(Node("Add", "add", ["Y", "B"], ["Z"]));
        graph.Output.Add(FloatValue("Z", 1, 3));
        return Model(graph);
    }

    /// <summary>A one-node model, X[2] → Relu → Y[2], to which validation tests add faults.</summary>
    internal static ModelProto ReluModel()
    {
        var graph = new GraphProto { Name = "relu" };
        graph.Input.Add(FloatValue("X", 2));
        graph.Node.Add(Node("Relu", "relu", ["X"], ["Y"]));
        graph.Output.Add(FloatValue("Y", 2));
        return Model(graph);
    }

    internal static TensorProto External(TensorProto tensor, string location, long? offset, long? length)
    {
        tensor.ClearRawData();
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset is { } o)
        {
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = o.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        if (length is { } l)
        {
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return tensor;
    }

    internal static string? ExternalEntry(TensorProto tensor, string key) =>
        tensor.ExternalData.FirstOrDefault(e => e.Key == key)?.Value;
}

/// <summary>A fresh folder under the temp path, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnetq-io-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
