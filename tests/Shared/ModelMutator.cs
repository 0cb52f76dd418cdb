using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Shared;

/// <summary>One fuzz case: a damaged copy of a bundled model, with the mutations applied (for the failure message).</summary>
internal sealed record FuzzCase(int Index, string Model, string Mutations, byte[] Bytes)
{
    public string Label => $"case {Index} ({Model}: {Mutations})";
}

/// <summary>
/// Makes damaged copies of the bundled models, reproducibly from (seed, case index): byte-level damage (truncation,
/// bit flips) and graph-level damage on the parsed protobuf (dangling names, wrong initializer sizes and dims, cycles,
/// unknown ops, missing or absurd opsets, duplicate names, empty graphs, wrong dtypes, dropped or absurd attributes,
/// swapped inputs, NaN/Inf/huge weights, changed input shapes, node counts just over <see cref="NodeLimit"/>, subgraphs
/// nested up to 40 deep, Q/DQ or QOperator nodes, weights near ±3.4e38 or subnormal). One to three graph mutations are
/// stacked per case.
/// </summary>
internal static class ModelMutator
{
    private delegate string GraphMutation(ModelProto model, Random random);

    private static readonly (string Name, GraphMutation Apply)[] GraphMutations =
    [
        ("dangling-input", DanglingInput),
        ("initializer-size", InitializerSize),
        ("initializer-dims", InitializerDims),
        ("cycle", Cycle),
        ("unknown-op", UnknownOp),
        ("missing-opset", (m, _) => { m.OpsetImport.Clear(); return "missing-opset"; }),
        ("absurd-opset", AbsurdOpset),
        ("duplicate-name", DuplicateName),
        ("empty-graph", EmptyGraph),
        ("initializer-dtype", InitializerDtype),
        ("io-dtype", IoDtype),
        ("input-shape", InputShape),
        ("remove-node", RemoveNode),
        ("drop-attribute", DropAttribute),
        ("absurd-attribute", AbsurdAttribute),
        ("swap-inputs", SwapInputs),
        ("weight-values", WeightValues),
        ("weight-to-input", WeightToInput),
        ("remove-outputs", (m, _) => { m.Graph.Output.Clear(); return "remove-outputs"; }),
        ("rename-op-domain", OpDomain),
        ("node-flood", NodeFlood),
        ("deep-subgraphs", DeepSubgraphs),
        ("already-quantized", AlreadyQuantized),
        ("extreme-weights", ExtremeWeights),
    ];

    /// <summary>
    /// The node limit the harness quantizes under (<see cref="PrepareOptions.MaxNodeCount"/>, CLI <c>--max-nodes</c>),
    /// low enough that node-flood cases pass it cheaply.
    /// </summary>
    public const int NodeLimit = 1_500;

    /// <summary>The case for <paramref name="index"/> under <paramref name="seed"/>; the same pair always gives the same bytes.</summary>
    public static FuzzCase Create(int seed, int index, IReadOnlyList<(string Name, byte[] Bytes)> models)
    {
        var random = new Random(unchecked((seed * 1_000_003) + index));
        var (name, bytes) = models[random.Next(models.Count)];
        int kind = random.Next(100);
        if (kind < 10)
        {
            int cut = random.Next(bytes.Length);
            return new FuzzCase(index, name, $"truncate@{cut}", bytes.AsSpan(0, cut).ToArray());
        }

        if (kind < 25)
        {
            var damaged = (byte[])bytes.Clone();
            int flips = random.Next(1, 9);
            for (int f = 0; f < flips; f++)
                damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
            return new FuzzCase(index, name, $"bit-flips x{flips}", damaged);
        }

        var model = ModelProto.Parser.ParseFrom(bytes);
        int count = random.Next(3) == 0 ? random.Next(2, 4) : 1;
        var applied = new List<string>();
        for (int m = 0; m < count; m++)
        {
            var (_, apply) = GraphMutations[random.Next(GraphMutations.Length)];
            applied.Add(apply(model, random));
        }

        return new FuzzCase(index, name, string.Join(" + ", applied), model.ToByteArray());
    }

    /// <summary>One named graph mutation applied to <paramref name="model"/> (for tests of a single family).</summary>
    public static FuzzCase CreateWith(string family, int seed, (string Name, byte[] Bytes) model)
    {
        var random = new Random(seed);
        var proto = ModelProto.Parser.ParseFrom(model.Bytes);
        string applied = GraphMutations.Single(m => m.Name == family).Apply(proto, random);
        return new FuzzCase(seed, model.Name, applied, proto.ToByteArray());
    }

    private static NodeProto? PickNode(ModelProto model, Random random) =>
        model.Graph.Node.Count == 0 ? null : model.Graph.Node[random.Next(model.Graph.Node.Count)];

    private static TensorProto? PickInitializer(ModelProto model, Random random, bool withRawData = false)
    {
        var candidates = model.Graph.Initializer.Where(t => !withRawData || t.RawData.Length > 0).ToList();
        return candidates.Count == 0 ? null : candidates[random.Next(candidates.Count)];
    }

    private static string DanglingInput(ModelProto model, Random random)
    {
        var node = PickNode(model, random);
        if (node is null || node.Input.Count == 0)
            return "dangling-input(none)";
        int i = random.Next(node.Input.Count);
        node.Input[i] = $"no_such_tensor_{random.Next(1000)}";
        return $"dangling-input({node.Name}#{i})";
    }

    private static string InitializerSize(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random, withRawData: true);
        if (tensor is null)
            return "initializer-size(none)";
        var raw = tensor.RawData.ToByteArray();
        int delta = random.Next(2) == 0 ? -random.Next(1, Math.Max(2, raw.Length)) : random.Next(1, 64);
        var resized = new byte[Math.Max(0, raw.Length + delta)];
        raw.AsSpan(0, Math.Min(raw.Length, resized.Length)).CopyTo(resized);
        tensor.RawData = ByteString.CopyFrom(resized);
        return $"initializer-size({tensor.Name}{delta:+#;-#})";
    }

    /// <summary>Dims that still match the byte count, but not the op: merged, split, permuted, or a leading 1.</summary>
    private static string InitializerDims(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random);
        if (tensor is null)
            return "initializer-dims(none)";
        var dims = tensor.Dims.ToList();
        switch (random.Next(5))
        {
            case 0 when dims.Count >= 2:
                dims = [dims[0] * dims[1], .. dims.Skip(2)];
                break;
            case 1:
                dims = [1, .. dims];
                break;
            case 2 when dims.Count >= 2:
                dims.Reverse();
                break;
            case 3 when dims.Count > 0:
                dims.RemoveAt(dims.Count - 1);
                break;
            default:
                dims = [dims.Aggregate(1L, (a, b) => a * b)];
                break;
        }

        tensor.Dims.Clear();
        tensor.Dims.AddRange(dims);
        return $"initializer-dims({tensor.Name}→[{string.Join(",", dims)}])";
    }

    private static string Cycle(ModelProto model, Random random)
    {
        var nodes = model.Graph.Node;
        if (nodes.Count == 0)
            return "cycle(none)";
        int from = random.Next(nodes.Count);
        int to = random.Next(from, nodes.Count); // a node reading its own or a later node's output (file order is topological)
        if (nodes[from].Input.Count == 0 || nodes[to].Output.Count == 0)
            return "cycle(none)";
        nodes[from].Input[random.Next(nodes[from].Input.Count)] = nodes[to].Output[0];
        return $"cycle({nodes[from].Name}←{nodes[to].Name})";
    }

    private static string UnknownOp(ModelProto model, Random random)
    {
        var node = PickNode(model, random);
        if (node is null)
            return "unknown-op(none)";
        string old = node.OpType;
        node.OpType = random.Next(3) switch { 0 => "Frobnicate", 1 => old.ToLowerInvariant(), _ => old + "V2" };
        return $"unknown-op({node.Name}:{old}→{node.OpType})";
    }

    private static string OpDomain(ModelProto model, Random random)
    {
        var node = PickNode(model, random);
        if (node is null)
            return "op-domain(none)";
        node.Domain = random.Next(2) == 0 ? "com.example" : "com.microsoft";
        return $"op-domain({node.Name}→{node.Domain})";
    }

    private static string AbsurdOpset(ModelProto model, Random random)
    {
        long[] versions = [1, 6, 7, 10, 12, 21, 22, 99, 100000, long.MaxValue];
        long version = versions[random.Next(versions.Length)];
        var entry = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (entry is null)
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = version });
        else
            entry.Version = version;
        return $"opset({version})";
    }

    private static string DuplicateName(ModelProto model, Random random)
    {
        var graph = model.Graph;
        var a = PickNode(model, random);
        var b = PickNode(model, random);
        switch (random.Next(5))
        {
            case 0 when a is not null && b is not null && a != b && a.Output.Count > 0 && b.Output.Count > 0:
                a.Output[0] = b.Output[0];
                return $"duplicate-output({a.Name},{b.Name})";
            case 1 when graph.Initializer.Count > 0:
                graph.Initializer.Add(graph.Initializer[random.Next(graph.Initializer.Count)].Clone());
                return "duplicate-initializer";
            case 2 when a is not null && b is not null:
                a.Name = b.Name;
                return $"duplicate-node-name({b.Name})";
            case 3 when a is not null && a.Output.Count > 0 && graph.Initializer.Count > 0:
                graph.Initializer[random.Next(graph.Initializer.Count)].Name = a.Output[0];
                return $"initializer-named-like-output({a.Output[0]})";
            default:
                if (graph.Input.Count > 0)
                    graph.Input.Add(graph.Input[0].Clone());
                return "duplicate-graph-input";
        }
    }

    private static string EmptyGraph(ModelProto model, Random random)
    {
        var graph = model.Graph;
        graph.Node.Clear();
        switch (random.Next(3))
        {
            case 0:
                return "empty-graph(nodes)";
            case 1:
                graph.Output.Clear();
                graph.Initializer.Clear();
                graph.ValueInfo.Clear();
                return "empty-graph(all)";
            default:
                // a graph whose output is its input: valid, nothing to quantize
                graph.Output.Clear();
                if (graph.Input.Count > 0)
                    graph.Output.Add(graph.Input[0].Clone());
                graph.Initializer.Clear();
                graph.ValueInfo.Clear();
                return "empty-graph(passthrough)";
        }
    }

    private static string InitializerDtype(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random);
        if (tensor is null)
            return "initializer-dtype(none)";
        int[] types = [0, 2, 3, 5, 6, 7, 9, 10, 11, 12, 16, 8, 99];
        tensor.DataType = types[random.Next(types.Length)];
        return $"initializer-dtype({tensor.Name}→{tensor.DataType})";
    }

    private static string IoDtype(ModelProto model, Random random)
    {
        var graph = model.Graph;
        var list = random.Next(2) == 0 ? graph.Input : graph.Output;
        if (list.Count == 0 || list[0].Type?.TensorType is null)
            return "io-dtype(none)";
        int[] types = [0, 2, 6, 7, 8, 9, 10, 11, 16];
        var value = list[random.Next(list.Count)];
        value.Type.TensorType.ElemType = types[random.Next(types.Length)];
        return $"io-dtype({value.Name}→{value.Type.TensorType.ElemType})";
    }

    private static string InputShape(ModelProto model, Random random)
    {
        var graph = model.Graph;
        if (graph.Input.Count == 0 || graph.Input[0].Type?.TensorType is null)
            return "input-shape(none)";
        var tensorType = graph.Input[0].Type.TensorType;
        switch (random.Next(5))
        {
            case 0:
                tensorType.Shape = null;
                return "input-shape(unknown rank)";
            case 1 when tensorType.Shape is { Dim.Count: > 0 }:
                tensorType.Shape.Dim.RemoveAt(tensorType.Shape.Dim.Count - 1);
                return "input-shape(rank-1)";
            case 2 when tensorType.Shape is { Dim.Count: > 0 }:
                tensorType.Shape.Dim[random.Next(tensorType.Shape.Dim.Count)] = new TensorShapeProto.Types.Dimension { DimValue = random.Next(2) == 0 ? 0 : 27 };
                return "input-shape(dim changed)";
            case 3 when tensorType.Shape is { Dim.Count: > 0 }:
                tensorType.Shape.Dim[random.Next(tensorType.Shape.Dim.Count)] = new TensorShapeProto.Types.Dimension { DimValue = -3 };
                return "input-shape(negative dim)";
            default:
                tensorType.Shape ??= new TensorShapeProto();
                tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "extra" });
                return "input-shape(rank+1)";
        }
    }

    private static string RemoveNode(ModelProto model, Random random)
    {
        if (model.Graph.Node.Count == 0)
            return "remove-node(none)";
        int i = random.Next(model.Graph.Node.Count);
        string name = model.Graph.Node[i].Name;
        model.Graph.Node.RemoveAt(i);
        return $"remove-node({name})";
    }

    private static string DropAttribute(ModelProto model, Random random)
    {
        var nodes = model.Graph.Node.Where(n => n.Attribute.Count > 0).ToList();
        if (nodes.Count == 0)
            return "drop-attribute(none)";
        var node = nodes[random.Next(nodes.Count)];
        int i = random.Next(node.Attribute.Count);
        string attribute = node.Attribute[i].Name;
        node.Attribute.RemoveAt(i);
        return $"drop-attribute({node.Name}.{attribute})";
    }

    private static string AbsurdAttribute(ModelProto model, Random random)
    {
        var nodes = model.Graph.Node.Where(n => n.Attribute.Count > 0).ToList();
        if (nodes.Count == 0)
            return "absurd-attribute(none)";
        var node = nodes[random.Next(nodes.Count)];
        var attribute = node.Attribute[random.Next(node.Attribute.Count)];
        long[] values = [0, -1, 99, int.MaxValue, long.MinValue];
        long value = values[random.Next(values.Length)];
        switch (attribute.Type)
        {
            case AttributeProto.Types.AttributeType.Int:
                attribute.I = value;
                break;
            case AttributeProto.Types.AttributeType.Ints when attribute.Ints.Count > 0:
                attribute.Ints[random.Next(attribute.Ints.Count)] = value;
                break;
            case AttributeProto.Types.AttributeType.Float:
                attribute.F = random.Next(2) == 0 ? float.NaN : -1e30f;
                break;
            default:
                // the wrong attribute type for its name
                attribute.Type = AttributeProto.Types.AttributeType.String;
                attribute.S = ByteString.CopyFromUtf8("x");
                break;
        }

        return $"absurd-attribute({node.Name}.{attribute.Name}={value})";
    }

    private static string SwapInputs(ModelProto model, Random random)
    {
        var nodes = model.Graph.Node.Where(n => n.Input.Count >= 2).ToList();
        if (nodes.Count == 0)
            return "swap-inputs(none)";
        var node = nodes[random.Next(nodes.Count)];
        (node.Input[0], node.Input[1]) = (node.Input[1], node.Input[0]);
        return $"swap-inputs({node.Name})";
    }

    /// <summary>Weights of NaN, ±Inf, huge (±1e30), tiny (1e-30) or zero, in one channel or the whole tensor.</summary>
    private static string WeightValues(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random, withRawData: true);
        if (tensor is null || tensor.DataType != 1)
            return "weight-values(none)";
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f, 1e-30f, 0f];
        float value = specials[random.Next(specials.Length)];
        var raw = tensor.RawData.ToByteArray();
        var floats = new float[raw.Length / 4];
        Buffer.BlockCopy(raw, 0, floats, 0, floats.Length * 4);
        bool whole = random.Next(2) == 0;
        int perChannel = tensor.Dims.Count > 0 && tensor.Dims[0] > 0 ? (int)(floats.Length / tensor.Dims[0]) : floats.Length;
        int start = whole || perChannel == 0 ? 0 : random.Next(Math.Max(1, floats.Length / Math.Max(1, perChannel))) * perChannel;
        int length = whole ? floats.Length : Math.Min(perChannel, floats.Length - start);
        floats.AsSpan(start, length).Fill(value);
        Buffer.BlockCopy(floats, 0, raw, 0, floats.Length * 4);
        tensor.RawData = ByteString.CopyFrom(raw);
        return $"weight-values({tensor.Name}{(whole ? "" : "[channel]")}={value})";
    }

    /// <summary>A weight becomes a graph input: the op no longer has a constant weight.</summary>
    private static string WeightToInput(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random);
        if (tensor is null)
            return "weight-to-input(none)";
        model.Graph.Initializer.Remove(tensor);
        var info = new ValueInfoProto { Name = tensor.Name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = tensor.DataType } } };
        info.Type.TensorType.Shape = new TensorShapeProto();
        foreach (var d in tensor.Dims)
            info.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        model.Graph.Input.Add(info);
        return $"weight-to-input({tensor.Name})";
    }

    /// <summary>An Identity chain read from a graph output, taking the node count just over <see cref="NodeLimit"/>.</summary>
    private static string NodeFlood(ModelProto model, Random random)
    {
        var graph = model.Graph;
        if (graph.Output.Count == 0)
            return "node-flood(none)";
        int extra = NodeLimit - graph.Node.Count + random.Next(1, 50);
        string last = graph.Output[0].Name;
        for (int i = 0; i < extra; i++)
        {
            var node = new NodeProto { OpType = "Identity", Name = $"flood_{i}" };
            node.Input.Add(last);
            last = $"flood_out_{i}";
            node.Output.Add(last);
            graph.Node.Add(node);
        }

        graph.Output.Add(new ValueInfoProto { Name = last, Type = graph.Output[0].Type?.Clone() });
        return $"node-flood(+{extra})";
    }

    /// <summary>An If whose then-branch holds an If, and so on, 1 to 40 levels (protobuf parses about 30).</summary>
    private static string DeepSubgraphs(ModelProto model, Random random)
    {
        var graph = model.Graph;
        if (graph.Input.Count == 0)
            return "deep-subgraphs(none)";
        int depth = random.Next(1, 41);
        var cond = new TensorProto { Name = "fuzz_cond", DataType = (int)TensorProto.Types.DataType.Bool, RawData = ByteString.CopyFrom([1]) };
        graph.Initializer.Add(cond);
        string x = graph.Input[0].Name;
        GraphProto Leaf(string name, string output)
        {
            var leaf = new GraphProto { Name = name };
            var identity = new NodeProto { OpType = "Identity", Name = name + "_id" };
            identity.Input.Add(x);
            identity.Output.Add(output);
            leaf.Node.Add(identity);
            leaf.Output.Add(new ValueInfoProto { Name = output, Type = graph.Input[0].Type?.Clone() });
            return leaf;
        }

        var inner = Leaf("fuzz_leaf", $"fuzz_o{depth}");
        NodeProto? top = null;
        for (int k = depth - 1; k >= 0; k--)
        {
            var node = new NodeProto { OpType = "If", Name = $"fuzz_if{k}" };
            node.Input.Add(cond.Name);
            node.Output.Add($"fuzz_o{k}");
            node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = inner });
            node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Leaf($"fuzz_else{k}", $"fuzz_e{k}") });
            if (k == 0)
            {
                top = node;
                break;
            }

            inner = new GraphProto { Name = $"fuzz_g{k}" };
            inner.Node.Add(node);
            inner.Output.Add(new ValueInfoProto { Name = $"fuzz_o{k}", Type = graph.Input[0].Type?.Clone() });
        }

        graph.Node.Add(top!);
        graph.Output.Add(new ValueInfoProto { Name = "fuzz_o0", Type = graph.Input[0].Type?.Clone() });
        return $"deep-subgraphs({depth})";
    }

    /// <summary>A QuantizeLinear/DequantizeLinear pair on a node input, or a node renamed to a QOperator or Integer op.</summary>
    private static string AlreadyQuantized(ModelProto model, Random random)
    {
        var node = PickNode(model, random);
        if (node is null || node.Input.Count == 0)
            return "already-quantized(none)";
        if (random.Next(2) == 0)
        {
            string[] ops = ["QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"];
            string op = ops[random.Next(ops.Length)];
            node.OpType = op;
            return $"already-quantized({node.Name}→{op})";
        }

        var graph = model.Graph;
        graph.Initializer.Add(new TensorProto { Name = "fuzz_scale", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(0.05f)) });
        graph.Initializer.Add(new TensorProto { Name = "fuzz_zp", DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom([128]) });
        var quantize = new NodeProto { OpType = "QuantizeLinear", Name = "fuzz_q" };
        quantize.Input.AddRange([node.Input[0], "fuzz_scale", "fuzz_zp"]);
        quantize.Output.Add("fuzz_q_out");
        var dequantize = new NodeProto { OpType = "DequantizeLinear", Name = "fuzz_dq" };
        dequantize.Input.AddRange(["fuzz_q_out", "fuzz_scale", "fuzz_zp"]);
        dequantize.Output.Add("fuzz_dq_out");
        node.Input[0] = "fuzz_dq_out";
        graph.Node.Insert(0, dequantize);
        graph.Node.Insert(0, quantize);
        return $"already-quantized(qdq→{node.Name})";
    }

    /// <summary>Weights near float32's limits (±3.4e38, ±float.MaxValue, alternating signs) or subnormal, in one channel or all.</summary>
    private static string ExtremeWeights(ModelProto model, Random random)
    {
        var tensor = PickInitializer(model, random, withRawData: true);
        if (tensor is null || tensor.DataType != 1)
            return "extreme-weights(none)";
        float[] specials = [3.4e38f, -3.4e38f, float.MaxValue, -float.MaxValue, 1e38f, 1e-45f, -1.4e-45f];
        float value = specials[random.Next(specials.Length)];
        bool alternate = random.Next(2) == 0;
        var floats = new float[tensor.RawData.Length / 4];
        Buffer.BlockCopy(tensor.RawData.ToByteArray(), 0, floats, 0, floats.Length * 4);
        int end = random.Next(2) == 0 ? floats.Length : Math.Min(floats.Length, Math.Max(1, floats.Length / Math.Max(1, (int)tensor.Dims.FirstOrDefault(1))));
        for (int i = 0; i < end; i++)
            floats[i] = alternate && i % 2 == 1 ? -value : value;
        var raw = new byte[floats.Length * 4];
        Buffer.BlockCopy(floats, 0, raw, 0, raw.Length);
        tensor.RawData = ByteString.CopyFrom(raw);
        return $"extreme-weights({tensor.Name}[..{end}]={value}{(alternate ? "±" : "")})";
    }
}
