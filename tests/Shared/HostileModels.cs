using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Shared;

/// <summary>
/// Small ONNX models that ask for far more memory or time than their size says, built in code for the hostile-input
/// tests (core and CLI; this file is linked into both). Each takes x [N, 4] and gives y [N, 4] = x · W + something
/// computed by the hostile part, so the quantizer has a MatMul to quantize and the hostile part is live.
/// </summary>
internal static class HostileModels
{
    /// <summary>
    /// Range → Expand → ConstantOfShape·Mul → Concat doubling: a [4, 1024] constant doubled <paramref name="doublings"/>
    /// times along axis 1 (node <c>double_i</c> makes [4, 1024·2^i]), then averaged and added to the output.
    /// 20 doublings ask for 16 GiB.
    /// </summary>
    public static byte[] DoublingBomb(int doublings)
    {
        var b = new Builder();
        b.Initializer(Int64("range_start", [], 0), Int64("range_limit", [], 1024), Int64("range_delta", [], 1), Int64("expand_shape", [2], 4, 1024), Int64("ones_shape", [2], 4, 1));
        b.Node("Range", "range", ["range_start", "range_limit", "range_delta"], ["r_i"]);
        b.Node("Cast", "cast", ["r_i"], ["r"], Int("to", (long)TensorProto.Types.DataType.Float));
        b.Node("Expand", "expand", ["r", "expand_shape"], ["e"]);
        b.Node("ConstantOfShape", "ones", ["ones_shape"], ["one"], TensorAttribute("value", Float("v", [1], 1f)));
        b.Node("Mul", "scale", ["e", "one"], ["double_0"]);
        for (int i = 1; i <= doublings; i++)
            b.Node("Concat", $"double_{i}", [$"double_{i - 1}", $"double_{i - 1}"], [$"double_{i}"], Int("axis", 1));
        return b.Finish($"double_{doublings}");
    }

    /// <summary>One ConstantOfShape of the given shape (e.g. [65536, 65536]: 16 GiB of floats), averaged into the output.</summary>
    public static byte[] HugeConstantOfShape(params long[] shape)
    {
        var b = new Builder();
        b.Initializer(Int64("shape", [shape.Length], shape));
        b.Node("ConstantOfShape", "huge", ["shape"], ["big"], TensorAttribute("value", Float("v", [1], 0.5f)));
        return b.Finish("big");
    }

    /// <summary>
    /// Two chained MatMuls of constant n×n matrices made by ConstantOfShape (n³ multiply-adds each; 300-odd bytes of
    /// model), nodes <c>matmul_1</c> and <c>matmul_2</c>, averaged into the output.
    /// </summary>
    public static byte[] ConstantMatMuls(long n)
    {
        var b = new Builder();
        b.Initializer(Int64("square", [2], n, n));
        b.Node("ConstantOfShape", "a", ["square"], ["A"], TensorAttribute("value", Float("va", [1], 0.001f)));
        b.Node("ConstantOfShape", "b", ["square"], ["B"], TensorAttribute("value", Float("vb", [1], 0.002f)));
        b.Node("MatMul", "matmul_1", ["A", "B"], ["C"]);
        b.Node("MatMul", "matmul_2", ["C", "B"], ["D"]);
        return b.Finish("D");
    }

    /// <summary>A ConstantOfShape of <paramref name="elements"/> floats times 2, averaged into the output: folds to a tensor of 4·elements bytes.</summary>
    public static byte[] FoldableConstant(long elements)
    {
        var b = new Builder();
        b.Initializer(Int64("shape", [1], elements), Float("two", [], 2f));
        b.Node("ConstantOfShape", "fill", ["shape"], ["filled"], TensorAttribute("value", Float("v", [1], 0.25f)));
        b.Node("Mul", "times_two", ["filled", "two"], ["doubled"]);
        return b.Finish("doubled");
    }

    /// <summary>
    /// A Loop of <paramref name="trips"/> iterations (2^62 never ends) adding 1 to its state: the state starts at x
    /// (<paramref name="constantState"/> false: calibration runs the Loop) or at a constant (true: the Loop's inputs are all
    /// constant, so only a folding pass that evaluated nodes with subgraphs would run it); y = (x + state) · W, so
    /// calibration observes z = x + state.
    /// </summary>
    public static byte[] HugeLoop(long trips, bool constantState)
    {
        var body = new GraphProto { Name = "body" };
        body.Input.Add(Info("iter", TensorProto.Types.DataType.Int64, []));
        body.Input.Add(Info("cond_in", TensorProto.Types.DataType.Bool, []));
        body.Input.Add(Info("v_in", TensorProto.Types.DataType.Float, null));
        body.Node.Add(NewNode("Constant", "body_one", [], ["body_1"], TensorAttribute("value", Float("one", [], 1f))));
        body.Node.Add(NewNode("Identity", "body_cond", ["cond_in"], ["cond_out"]));
        body.Node.Add(NewNode("Add", "body_add", ["v_in", "body_1"], ["v_out"]));
        body.Output.Add(Info("cond_out", TensorProto.Types.DataType.Bool, []));
        body.Output.Add(Info("v_out", TensorProto.Types.DataType.Float, null));

        var b = new Builder();
        var condition = new TensorProto { Name = "keep_going", DataType = (int)TensorProto.Types.DataType.Bool, RawData = ByteString.CopyFrom([1]) };
        b.Initializer(Int64("trips", [], trips), condition, Float("state0", [1, 4], 0f, 1f, 2f, 3f));
        var loop = NewNode("Loop", "loop", ["trips", "keep_going", constantState ? "state0" : "x"], ["looped"]);
        loop.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        b.Graph.Node.Add(loop);
        b.Node("Add", "plus", ["x", "looped"], ["z"]);
        b.Node("MatMul", "mm", ["z", "w"], ["y"]);
        return b.FinishRaw();
    }

    /// <summary>A graph with x [N, 4] in, y [N, 4] out and W [4, 4]; <see cref="Finish"/> adds y = x · W + mean(tensor).</summary>
    private sealed class Builder
    {
        public GraphProto Graph { get; } = new() { Name = "hostile" };

        public Builder()
        {
            Graph.Input.Add(Info("x", TensorProto.Types.DataType.Float, [-1, 4]));
            Graph.Output.Add(Info("y", TensorProto.Types.DataType.Float, [-1, 4]));
            Graph.Initializer.Add(Float("w", [4, 4], Enumerable.Range(0, 16).Select(i => (i % 5 - 2) * 0.25f).ToArray()));
        }

        public void Initializer(params TensorProto[] tensors) => Graph.Initializer.AddRange(tensors);

        public void Node(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes) =>
            Graph.Node.Add(NewNode(opType, name, inputs, outputs, attributes));

        /// <summary>y = x · W + mean over every element of <paramref name="hostile"/>.</summary>
        public byte[] Finish(string hostile)
        {
            Node("ReduceMean", "mean", [hostile], ["m"], Int("keepdims", 0));
            Node("MatMul", "mm", ["x", "w"], ["h"]);
            Node("Add", "out", ["h", "m"], ["y"]);
            return FinishRaw();
        }

        public byte[] FinishRaw()
        {
            var model = new ModelProto { IrVersion = 8, ProducerName = "hostile-tests", Graph = Graph };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
            return model.ToByteArray();
        }
    }

    private static NodeProto NewNode(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>A typed value info; <paramref name="dims"/> null for an unknown shape, −1 for a symbolic dimension.</summary>
    private static ValueInfoProto Info(string name, TensorProto.Types.DataType type, long[]? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (long d in dims)
                tensor.Shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto TensorAttribute(string name, TensorProto value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    private static TensorProto Float(string name, long[] dims, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    private static TensorProto Int64(string name, long[] dims, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return t;
    }
}
