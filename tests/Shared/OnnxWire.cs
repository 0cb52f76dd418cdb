using System.Text;

namespace MLNet.Quantization.TestSupport;

/// <summary>
/// Writes hostile ONNX files straight in protobuf's wire format, without building the messages in memory: a chain of a
/// million nodes (streamed node by node) and If subgraphs nested thousands deep (sizes computed inside out, bytes
/// written outside in), which the protobuf object model could neither build nor serialize cheaply. One file, linked
/// into each test project that needs it.
/// </summary>
internal static class OnnxWire
{
    private const int Float = 1;
    private const int Bool = 9;

    /// <summary>
    /// x [N, 4] → <paramref name="opType"/> → ... → y, <paramref name="nodes"/> single-input nodes in a line (opset 13).
    /// A million Relu nodes make a 34 MB file.
    /// </summary>
    public static void WriteChain(Stream destination, int nodes, string opType = "Relu")
    {
        var graph = new MemoryStream();
        for (int i = 0; i < nodes; i++)
        {
            var node = new Message()
                .String(1, i == 0 ? "x" : Name("t", i - 1))
                .String(2, i == nodes - 1 ? "y" : Name("t", i))
                .String(3, Name("n", i))
                .String(4, opType);
            node.WriteAsField(1, graph);
        }

        var tail = new Message()
            .String(2, "chain")
            .Field(11, TensorInfo("x", Float, "N", 4))
            .Field(12, TensorInfo("y", Float, "N", 4));
        graph.Write(tail.ToArray());
        WriteModel(destination, graph.ToArray());
    }

    /// <summary>
    /// A model whose main graph holds one If, whose then-branch holds another If, and so on <paramref name="depth"/>
    /// levels deep (each else-branch is an Identity); the innermost then-branch is an Identity of x.
    /// </summary>
    public static byte[] NestedIfs(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        // graph k (0 = main) = node(If_k: then_branch = graph k+1, the rest) + the graph's own fields
        var thenRest = new byte[depth][];
        var nodeRest = new byte[depth][];
        var graphRest = new byte[depth][];
        for (int k = 0; k < depth; k++)
        {
            thenRest[k] = new Message().String(1, "then_branch").Varint(20, 5).ToArray();
            var elseBranch = new Message()
                .Field(1, new Message().String(1, "x").String(2, Name("e", k)).String(3, Name("else", k)).String(4, "Identity"))
                .String(2, Name("else_graph", k))
                .Field(12, TensorInfo(Name("e", k), Float, "N", 4));
            nodeRest[k] = new Message()
                .String(1, "cond").String(2, Name("o", k)).String(3, Name("if", k)).String(4, "If")
                .Field(5, new Message().String(1, "else_branch").Field(6, elseBranch).Varint(20, 5))
                .ToArray();
            var rest = new Message().String(2, Name("graph", k)).Field(12, TensorInfo(Name("o", k), Float, "N", 4));
            if (k == 0)
                rest.Field(11, TensorInfo("x", Float, "N", 4)).Field(11, TensorInfo("cond", Bool));
            graphRest[k] = rest.ToArray();
        }

        var innermost = new Message()
            .Field(1, new Message().String(1, "x").String(2, Name("o", depth)).String(3, Name("leaf", depth)).String(4, "Identity"))
            .String(2, "leaf")
            .Field(12, TensorInfo(Name("o", depth), Float, "N", 4))
            .ToArray();

        // sizes inside out: |G_k| = 1 + |len(Node_k)| + |Node_k| + |rest|, Node_k = attribute(then) + rest, then = g(G_k+1) + rest
        var graphSize = new long[depth + 1];
        var nodeSize = new long[depth];
        var thenSize = new long[depth];
        graphSize[depth] = innermost.Length;
        for (int k = depth - 1; k >= 0; k--)
        {
            thenSize[k] = 1 + VarintLength(graphSize[k + 1]) + graphSize[k + 1] + thenRest[k].Length;
            nodeSize[k] = 1 + VarintLength(thenSize[k]) + thenSize[k] + nodeRest[k].Length;
            graphSize[k] = 1 + VarintLength(nodeSize[k]) + nodeSize[k] + graphRest[k].Length;
        }

        var main = new MemoryStream();
        for (int k = 0; k < depth; k++)
        {
            main.WriteByte(Tag(1, 2)); // GraphProto.node
            WriteVarint(main, nodeSize[k]);
            main.WriteByte(Tag(5, 2)); // NodeProto.attribute
            WriteVarint(main, thenSize[k]);
            main.WriteByte(Tag(6, 2)); // AttributeProto.g
            WriteVarint(main, graphSize[k + 1]);
        }

        main.Write(innermost);
        for (int k = depth - 1; k >= 0; k--)
        {
            main.Write(thenRest[k]);
            main.Write(nodeRest[k]);
            main.Write(graphRest[k]);
        }

        var model = new MemoryStream();
        WriteModel(model, main.ToArray());
        return model.ToArray();
    }

    private static void WriteModel(Stream destination, byte[] graph)
    {
        var head = new Message()
            .Varint(1, 8) // ir_version
            .String(2, "tests")
            .Field(8, new Message().String(1, "").Varint(2, 13)); // opset_import
        destination.Write(head.ToArray());
        destination.WriteByte(Tag(7, 2)); // ModelProto.graph
        WriteVarint(destination, graph.Length);
        destination.Write(graph);
    }

    /// <summary>A ValueInfoProto of a tensor with dims given as symbols (string) or sizes (int).</summary>
    private static Message TensorInfo(string name, int elementType, params object[] dims)
    {
        var shape = new Message();
        foreach (var dim in dims)
            shape.Field(1, dim is string symbol ? new Message().String(2, symbol) : new Message().Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture)));
        var tensor = new Message().Varint(1, elementType).Field(2, shape);
        return new Message().String(1, name).Field(2, new Message().Field(1, tensor));
    }

    private static string Name(string prefix, int i) => prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static byte Tag(int field, int wireType) => (byte)((field << 3) | wireType);

    private static int VarintLength(long value)
    {
        int n = 1;
        while ((ulong)value >= 0x80)
        {
            value = (long)((ulong)value >> 7);
            n++;
        }

        return n;
    }

    private static void WriteVarint(Stream stream, long value)
    {
        ulong v = (ulong)value;
        while (v >= 0x80)
        {
            stream.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }

        stream.WriteByte((byte)v);
    }

    /// <summary>A protobuf message being written: fields appended in order.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
        Justification = "A MemoryStream holds managed memory only; disposing it frees nothing.")]
    private sealed class Message
    {
        private readonly MemoryStream _bytes = new();

        public Message Varint(int field, long value)
        {
            WriteVarint(_bytes, (long)((uint)field << 3));
            WriteVarint(_bytes, value);
            return this;
        }

        public Message String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Message Field(int field, Message message) => Bytes(field, message.ToArray());

        public void WriteAsField(int field, Stream destination)
        {
            WriteVarint(destination, (long)(((uint)field << 3) | 2));
            WriteVarint(destination, _bytes.Length);
            _bytes.Position = 0;
            _bytes.CopyTo(destination);
        }

        public byte[] ToArray() => _bytes.ToArray();

        private Message Bytes(int field, byte[] value)
        {
            WriteVarint(_bytes, (long)(((uint)field << 3) | 2));
            WriteVarint(_bytes, value.Length);
            _bytes.Write(value);
            return this;
        }
    }
}
