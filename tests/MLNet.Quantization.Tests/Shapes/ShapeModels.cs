using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Shapes;

/// <summary>Small opset-13 models with fixed or symbolic input dimensions, built in code, random weights from a seed.</summary>
internal static class ShapeModels
{
    /// <summary>
    /// x [B, 2, 6, 6] → Conv(4, 3×3, pad 1) → Relu → Reshape(shape [B, -1]) → Gemm(10): the CNTK/Keras flatten with the
    /// batch baked into the Reshape's constant shape, value_info declaring the conv output at batch B.
    /// </summary>
    public static OnnxModel ConvReshapeGemm(int batch)
    {
        var g = new GraphProto { Name = "conv_reshape_gemm" };
        g.Input.Add(TinyModels.FloatInfo("x", batch, 2, 6, 6));
        g.Output.Add(TinyModels.FloatInfo("y", batch, 10));
        g.ValueInfo.Add(TinyModels.FloatInfo("conv", batch, 4, 6, 6));
        g.Initializer.Add(Random("w", [4, 2, 3, 3], 1));
        g.Initializer.Add(Random("b", [4], 2));
        g.Initializer.Add(Int64s("shape", batch, -1));
        g.Initializer.Add(Random("w2", [10, 144], 3));
        g.Initializer.Add(Random("b2", [10], 4));
        var conv = Node("Conv", ["x", "w", "b"], ["conv"]);
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        g.Node.Add(conv);
        g.Node.Add(Node("Relu", ["conv"], ["relu"]));
        g.Node.Add(Node("Reshape", ["relu", "shape"], ["flat"]));
        var gemm = Node("Gemm", ["flat", "w2", "b2"], ["y"]);
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Node.Add(gemm);
        return Model(g);
    }

    /// <summary>
    /// x [1, 4] → Concat(x, c, axis 1) with c = Expand(ones [1, 1], [1, 2]) → MatMul(3): the Expand's constant shape
    /// bakes in the batch of 1, so the batch must stay fixed.
    /// </summary>
    public static OnnxModel ExpandBakesBatch()
    {
        var g = new GraphProto { Name = "expand_bakes_batch" };
        g.Input.Add(TinyModels.FloatInfo("x", 1, 4));
        g.Output.Add(TinyModels.FloatInfo("y", 1, 3));
        g.Initializer.Add(TinyModels.FloatTensor("one", [1, 1], [1f]));
        g.Initializer.Add(Int64s("expand_shape", 1, 2));
        g.Initializer.Add(Random("w", [6, 3], 5));
        g.Node.Add(Node("Expand", ["one", "expand_shape"], ["c"]));
        var concat = Node("Concat", ["x", "c"], ["xc"]);
        concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Node.Add(concat);
        g.Node.Add(Node("MatMul", ["xc", "w"], ["y"]));
        return Model(g);
    }

    /// <summary>x [1, 4] → Tile(repeats [2, 1]) → MatMul(3) → y [2, 3]: the output's first dimension is not the batch.</summary>
    public static OnnxModel TileBakesBatch()
    {
        var g = new GraphProto { Name = "tile_bakes_batch" };
        g.Input.Add(TinyModels.FloatInfo("x", 1, 4));
        g.Output.Add(TinyModels.FloatInfo("y", 2, 3));
        g.Initializer.Add(Int64s("repeats", 2, 1));
        g.Initializer.Add(Random("w", [4, 3], 6));
        g.Node.Add(Node("Tile", ["x", "repeats"], ["t"]));
        g.Node.Add(Node("MatMul", ["t", "w"], ["y"]));
        return Model(g);
    }

    /// <summary>
    /// x [1, 4, 2] → Transpose([1, 0, 2]) → Reshape([1, -1]) → MatMul(3): the Reshape's leading 1 is not the batch
    /// (dimension 0 of its input is 4), so rewriting it to 0 would be wrong.
    /// </summary>
    public static OnnxModel ReshapeOfNonBatchAxis()
    {
        var g = new GraphProto { Name = "reshape_non_batch" };
        g.Input.Add(TinyModels.FloatInfo("x", 1, 4, 2));
        g.Output.Add(TinyModels.FloatInfo("y", 1, 3));
        g.Initializer.Add(Int64s("shape", 1, -1));
        g.Initializer.Add(Random("w", [8, 3], 7));
        var transpose = Node("Transpose", ["x"], ["t"]);
        transpose.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 0, 2 } });
        g.Node.Add(transpose);
        g.Node.Add(Node("Reshape", ["t", "shape"], ["flat"]));
        g.Node.Add(Node("MatMul", ["flat", "w"], ["y"]));
        return Model(g);
    }

    /// <summary>x [N, 3, H, W] (all symbolic) → Conv(4, 3×3) → Relu → GlobalAveragePool → Flatten → Gemm(5): a detector-style input.</summary>
    public static OnnxModel SymbolicHeightWidth()
    {
        var g = new GraphProto { Name = "symbolic_hw" };
        g.Input.Add(SymbolicInfo("x", "N", 3, "H", "W"));
        g.Output.Add(SymbolicInfo("y", "N", 5));
        g.Initializer.Add(Random("w", [4, 3, 3, 3], 8));
        g.Initializer.Add(Random("b", [4], 9));
        g.Initializer.Add(Random("w2", [5, 4], 10));
        g.Initializer.Add(Random("b2", [5], 11));
        g.Node.Add(Node("Conv", ["x", "w", "b"], ["conv"]));
        g.Node.Add(Node("Relu", ["conv"], ["relu"]));
        g.Node.Add(Node("GlobalAveragePool", ["relu"], ["pool"]));
        g.Node.Add(Node("Flatten", ["pool"], ["flat"]));
        var gemm = Node("Gemm", ["flat", "w2", "b2"], ["y"]);
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Node.Add(gemm);
        return Model(g);
    }

    /// <summary>Uniform values in [−1, 1) from <paramref name="seed"/>, in <paramref name="shape"/>.</summary>
    public static float[] RandomValues(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static ValueInfoProto SymbolicInfo(string name, params object[] dims)
    {
        var info = TinyModels.FloatInfo(name);
        foreach (var d in dims)
            info.Type.TensorType.Shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = (int)d });
        return info;
    }

    private static TensorProto Random(string name, long[] dims, int seed) =>
        TinyModels.FloatTensor(name, dims, RandomValues((int)dims.Aggregate(1L, (a, b) => a * b), seed));

    private static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = op.ToLowerInvariant() + "_" + outputs[0] };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static OnnxModel Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return OnnxModel.Load(model.ToByteArray());
    }
}
