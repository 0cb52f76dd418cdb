using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>Small hand-built ONNX models.</summary>
internal static class TinyModels
{
    public static ValueInfoProto FloatInfo(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        t.RawData = ByteString.CopyFrom(bytes);
        return t;
    }

    /// <summary>Y = X · W with X [1, k] and a constant W [k, n].</summary>
    public static ModelProto MatMul(float[] weight, int k, int n)
    {
        var graph = new GraphProto { Name = "tiny_matmul" };
        graph.Input.Add(FloatInfo("X", 1, k));
        graph.Output.Add(FloatInfo("Y", 1, n));
        graph.Initializer.Add(FloatTensor("W", [k, n], weight));
        var node = new NodeProto { Name = "mm", OpType = "MatMul" };
        node.Input.Add("X");
        node.Input.Add("W");
        node.Output.Add("Y");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }
}
