using System.Diagnostics.CodeAnalysis;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Graph;

/// <summary>
/// A mutable IR over an ONNX model's main graph: nodes, typed initializers, value infos, producer and consumer maps,
/// a stable topological order, and edits that keep those maps right. The ONNX messages stay underneath, so
/// <see cref="ToModel"/> of an unedited graph gives back the original model byte for byte.
/// </summary>
public sealed class OnnxGraph
{
    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly OnnxModel? _source;
    private readonly List<OnnxNode> _nodes = [];
    private readonly HashSet<OnnxNode> _nodeSet = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, OnnxNode> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeInput>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _subgraphReads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorData> _initializers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphInputs = new(StringComparer.Ordinal);
    private int _nameCounter;

    private OnnxGraph(ModelProto model, OnnxModel? source)
    {
        _model = model;
        _graph = model.Graph ?? throw new OnnxGraphException("The model has no graph.");
        _source = source;
        foreach (var input in _graph.Input)
            _graphInputs.Add(input.Name);
        foreach (var init in _graph.Initializer)
        {
            if (!_initializers.TryAdd(init.Name, new TensorData(init, source)))
                throw new OnnxGraphException($"Graph '{_graph.Name}' defines initializer '{init.Name}' twice.");
        }

        var protos = _graph.Node.ToList();
        _graph.Node.Clear(); // nodes live in _nodes; ToModel writes them back in topological order
        foreach (var proto in protos)
            Register(new OnnxNode(proto));
    }

    /// <summary>Builds the IR over a copy of <paramref name="model"/>; the model itself is not changed.</summary>
    public static OnnxGraph FromModel(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new OnnxGraph(model.Proto.Clone(), model);
    }

    /// <summary>Loads a model file and builds the IR over it.</summary>
    public static OnnxGraph Load(string path) => FromModel(OnnxModel.Load(path));

    /// <summary>A model holding the original model's fields and this graph, with nodes in topological order.</summary>
    public OnnxModel ToModel()
    {
        var model = _model.Clone();
        foreach (var node in TopologicalOrder())
            model.Graph.Node.Add(node.Proto.Clone());
        return new OnnxModel(model, _source?.SourceName, _source?.BaseDirectory);
    }

    /// <summary>A deep copy of this graph.</summary>
    public OnnxGraph Clone()
    {
        var model = _model.Clone();
        foreach (var node in _nodes)
            model.Graph.Node.Add(node.Proto.Clone());
        var copy = new OnnxGraph(model, _source);
        copy._nameCounter = _nameCounter;
        return copy;
    }

    /// <summary>The graph's name.</summary>
    public string Name => _graph.Name;

    /// <summary>The model this graph came from, if any (for its source name and external-data folder).</summary>
    public OnnxModel? Source => _source;

    /// <summary>The nodes in their current order (insertion order; see <see cref="TopologicalOrder"/>).</summary>
    public IReadOnlyList<OnnxNode> Nodes => _nodes;

    /// <summary>The graph inputs that are fed at run time; initializers also listed as inputs (old IR style) are left out.</summary>
    public IReadOnlyList<ValueInfo> Inputs => _graph.Input.Where(i => !_initializers.ContainsKey(i.Name)).Select(ValueInfo.FromProto).ToArray();

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<ValueInfo> Outputs => _graph.Output.Select(ValueInfo.FromProto).ToArray();

    /// <summary>The initializers by name.</summary>
    public IReadOnlyDictionary<string, TensorData> Initializers => _initializers;

    /// <summary>The opset version imported for <paramref name="domain"/> (<c>""</c> or <c>ai.onnx</c> for ONNX); 0 when not imported.</summary>
    public long GetOpsetVersion(string domain = "")
    {
        if (domain == "ai.onnx")
            domain = "";
        var entry = _model.OpsetImport.LastOrDefault(o => o.Domain == domain || (domain == "" && o.Domain == "ai.onnx"));
        return entry?.Version ?? 0;
    }

    /// <summary>Sets the opset version imported for <paramref name="domain"/>, adding the import if missing.</summary>
    public void SetOpsetVersion(string domain, long version)
    {
        var entry = _model.OpsetImport.LastOrDefault(o => o.Domain == domain || (domain == "" && o.Domain == "ai.onnx"));
        if (entry is null)
            _model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        else
            entry.Version = version;
    }

    /// <summary>Raises the model's IR version to at least <paramref name="minimum"/> (never lowers it).</summary>
    internal void RaiseIrVersion(long minimum)
    {
        if (_model.IrVersion < minimum)
            _model.IrVersion = minimum;
    }

    /// <summary>The node producing <paramref name="tensorName"/>, or null for inputs, initializers and unknown names.</summary>
    public OnnxNode? GetProducer(string tensorName) => _producers.GetValueOrDefault(tensorName);

    /// <summary>The node inputs reading <paramref name="tensorName"/>.</summary>
    public IReadOnlyList<NodeInput> GetConsumers(string tensorName) =>
        _consumers.TryGetValue(tensorName, out var list) ? list.ToArray() : [];

    /// <summary>True when something reads the tensor: a node input, a subgraph, or the graph's outputs.</summary>
    public bool IsUsed(string tensorName) =>
        (_consumers.TryGetValue(tensorName, out var l) && l.Count > 0) || _subgraphReads.ContainsKey(tensorName) || IsGraphOutput(tensorName);

    /// <summary>True when <paramref name="name"/> is an initializer.</summary>
    public bool IsInitializer(string name) => _initializers.ContainsKey(name);

    /// <summary>True when <paramref name="name"/> is a graph input fed at run time (not an initializer).</summary>
    public bool IsGraphInput(string name) => _graphInputs.Contains(name) && !_initializers.ContainsKey(name);

    /// <summary>True when <paramref name="name"/> is a graph output.</summary>
    public bool IsGraphOutput(string name) => _graph.Output.Any(o => o.Name == name);

    /// <summary>The constant value of <paramref name="name"/>: an initializer, or the output of a <c>Constant</c> node.</summary>
    public bool TryGetConstant(string name, [MaybeNullWhen(false)] out TensorData tensor)
    {
        if (_initializers.TryGetValue(name, out tensor))
            return true; // old-IR initializers also listed as inputs are treated as constants, as ORT's quantizer does
        tensor = null;
        if (GetProducer(name) is not { OpType: "Constant", IsDefaultDomain: true } node)
            return false;
        tensor = ConstantValue(node, name);
        return tensor is not null;
    }

    private static TensorData? ConstantValue(OnnxNode node, string name)
    {
        if (node.GetTensor("value") is { } t)
            return t.WithName(name);
        if (node.HasAttribute("value_float"))
            return TensorData.FromFloats(name, [], [node.GetFloat("value_float", 0f)]);
        if (node.HasAttribute("value_floats"))
            return TensorData.FromFloats(name, [node.GetFloats("value_floats").Count], node.GetFloats("value_floats").ToArray());
        if (node.HasAttribute("value_int"))
            return TensorData.FromInt64(name, [], [node.GetInt("value_int", 0)]);
        if (node.HasAttribute("value_ints"))
            return TensorData.FromInt64(name, [node.GetInts("value_ints").Count], node.GetInts("value_ints").ToArray());
        return null;
    }

    /// <summary>The declared type and shape of a tensor (graph input, output or value_info), or null.</summary>
    public ValueInfo? GetValueInfo(string name)
    {
        var proto = _graph.Input.FirstOrDefault(v => v.Name == name)
            ?? _graph.Output.FirstOrDefault(v => v.Name == name)
            ?? _graph.ValueInfo.FirstOrDefault(v => v.Name == name);
        if (proto is not null)
            return ValueInfo.FromProto(proto);
        if (_initializers.TryGetValue(name, out var init))
            return new ValueInfo(name, init.ElementType, init.Dims.Select(d => new Dimension(d, null)).ToArray());
        return null;
    }

    /// <summary>Records a tensor's type and shape in value_info (replacing an earlier entry; graph inputs/outputs are left as declared).</summary>
    public void SetValueInfo(ValueInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (_graph.Input.Any(v => v.Name == info.Name) || _graph.Output.Any(v => v.Name == info.Name))
            return;
        var existing = _graph.ValueInfo.FirstOrDefault(v => v.Name == info.Name);
        if (existing is not null)
            _graph.ValueInfo.Remove(existing);
        _graph.ValueInfo.Add(info.ToProto());
    }

    /// <summary>The value_info entries (intermediate tensors' declared types and shapes).</summary>
    internal IReadOnlyList<ValueInfo> ValueInfos => _graph.ValueInfo.Select(ValueInfo.FromProto).ToArray();

    /// <summary>Removes a tensor's value_info entry; returns whether there was one.</summary>
    internal bool RemoveValueInfo(string name)
    {
        var existing = _graph.ValueInfo.FirstOrDefault(v => v.Name == name);
        return existing is not null && _graph.ValueInfo.Remove(existing);
    }

    /// <summary>Replaces the declared shape of a graph input or output (its element type stays).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is neither a graph input nor a graph output.</exception>
    internal void SetDeclaredShape(string name, IReadOnlyList<Dimension> shape)
    {
        var protos = _graph.Input.Where(v => v.Name == name).Concat(_graph.Output.Where(v => v.Name == name)).ToList();
        if (protos.Count == 0)
            throw new ArgumentException($"'{name}' is neither a graph input nor a graph output.", nameof(name));
        foreach (var proto in protos)
        {
            var info = ValueInfo.FromProto(proto);
            var replaced = new ValueInfo(name, info.ElementType, shape).ToProto();
            proto.Type = replaced.Type;
        }
    }

    /// <summary>Nodes in a stable topological order: among ready nodes, the earlier one first.</summary>
    /// <exception cref="OnnxGraphException">The graph has a cycle; the message names a node on it.</exception>
    public IReadOnlyList<OnnxNode> TopologicalOrder()
    {
        var index = new Dictionary<OnnxNode, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _nodes.Count; i++)
            index[_nodes[i]] = i;
        var pending = new int[_nodes.Count];
        var dependents = new List<int>[_nodes.Count];
        for (int i = 0; i < _nodes.Count; i++)
        {
            dependents[i] = [];
        }

        for (int i = 0; i < _nodes.Count; i++)
        {
            foreach (var input in Dependencies(_nodes[i]))
            {
                if (_producers.TryGetValue(input, out var producer))
                {
                    int p = index[producer];
                    pending[i]++;
                    dependents[p].Add(i);
                }
            }
        }

        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < _nodes.Count; i++)
        {
            if (pending[i] == 0)
                ready.Enqueue(i, i);
        }

        var order = new List<OnnxNode>(_nodes.Count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(_nodes[i]);
            foreach (int d in dependents[i])
            {
                if (--pending[d] == 0)
                    ready.Enqueue(d, d);
            }
        }

        if (order.Count != _nodes.Count)
        {
            var stuck = _nodes.First(n => pending[index[n]] > 0);
            throw new OnnxGraphException($"Graph '{Name}' has a cycle through node '{stuck.Name}' ({stuck.OpType}).");
        }

        return order;
    }

    private static IEnumerable<string> Dependencies(OnnxNode node) =>
        node.Inputs.Where(i => i.Length > 0).Concat(OuterScopeReads(node.Proto)).Distinct(StringComparer.Ordinal);

    /// <summary>Adds a node. Its name is made unique; its outputs must not be produced already.</summary>
    public OnnxNode AddNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string? name = null, string domain = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        var proto = new NodeProto { OpType = opType, Domain = domain };
        proto.Input.AddRange(inputs);
        proto.Output.AddRange(outputs);
        proto.Name = name is null || _nodeNames.Contains(name) ? UniqueName(name ?? opType) : name;
        if (domain.Length == 0)
            proto.ClearDomain();
        var node = new OnnxNode(proto);
        Register(node);
        return node;
    }

    /// <summary>Adds a node built elsewhere (for example a rewired copy of a removed node); its name must be free.</summary>
    internal OnnxNode AddNode(NodeProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        if (proto.Name.Length > 0 && _nodeNames.Contains(proto.Name))
            throw new OnnxGraphException($"A node named '{proto.Name}' is already in graph '{Name}'.");
        var node = new OnnxNode(proto);
        Register(node);
        return node;
    }

    /// <summary>Removes a node. Its outputs must no longer be read (rewire consumers first).</summary>
    public void RemoveNode(OnnxNode node) => RemoveNode(node, replacingProducer: false);


    /// <summary>Removes a node; with <paramref name="replacingProducer"/> its outputs may stay read, because the caller adds their new producer next.</summary>
    internal void RemoveNode(OnnxNode node, bool replacingProducer)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_nodeSet.Contains(node))
            throw new OnnxGraphException($"Node '{node.Name}' is not in graph '{Name}'.");
        foreach (var output in node.Outputs.Where(o => o.Length > 0))
        {
            if (!replacingProducer && IsUsed(output))
                throw new OnnxGraphException($"Cannot remove node '{node.Name}': its output '{output}' is still read.");
        }

        _nodes.Remove(node);
        Unregister(node);
    }

    /// <summary>
    /// Removes many nodes in one pass over the node list (removing them one by one is quadratic in the graph's size).
    /// Their outputs may be read only by each other.
    /// </summary>
    internal void RemoveNodes(IReadOnlyCollection<OnnxNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var removing = new HashSet<OnnxNode>(nodes, ReferenceEqualityComparer.Instance);
        foreach (var node in removing)
        {
            if (!_nodeSet.Contains(node))
                throw new OnnxGraphException($"Node '{node.Name}' is not in graph '{Name}'.");
            foreach (var output in node.Outputs.Where(o => o.Length > 0))
            {
                bool readOutside = _consumers.TryGetValue(output, out var uses) && uses.Any(u => !removing.Contains(u.Node));
                if (readOutside || _subgraphReads.ContainsKey(output) || IsGraphOutput(output))
                    throw new OnnxGraphException($"Cannot remove node '{node.Name}': its output '{output}' is still read.");
            }
        }

        _nodes.RemoveAll(removing.Contains);
        foreach (var node in removing)
            Unregister(node);
    }

    /// <summary>Points input <paramref name="inputIndex"/> of <paramref name="node"/> at another tensor.</summary>
    public void ReplaceInput(OnnxNode node, int inputIndex, string newTensorName)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(newTensorName);
        if ((uint)inputIndex >= (uint)node.Inputs.Count)
            throw new OnnxGraphException($"Node '{node.Name}' has {node.Inputs.Count} inputs; there is no input {inputIndex}.");
        string old = node.Proto.Input[inputIndex];
        if (old.Length > 0 && _consumers.TryGetValue(old, out var list))
            list.Remove(new NodeInput(node, inputIndex));
        node.Proto.Input[inputIndex] = newTensorName;
        if (newTensorName.Length > 0)
            AddConsumer(newTensorName, new NodeInput(node, inputIndex));
    }

    /// <summary>Appends an input to <paramref name="node"/> (for example the optional bias of a Conv), keeping the node and its name.</summary>
    internal void AppendInput(OnnxNode node, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(tensorName);
        if (!_nodeSet.Contains(node))
            throw new OnnxGraphException($"Node '{node.Name}' is not in graph '{Name}'.");
        node.Proto.Input.Add(tensorName);
        if (tensorName.Length > 0)
            AddConsumer(tensorName, new NodeInput(node, node.Proto.Input.Count - 1));
    }

    /// <summary>Makes every node input reading <paramref name="oldName"/> read <paramref name="newName"/>; optionally graph outputs too.</summary>
    public void ReplaceAllUses(string oldName, string newName, bool includeGraphOutputs = false)
    {
        foreach (var use in GetConsumers(oldName))
            ReplaceInput(use.Node, use.InputIndex, newName);
        if (includeGraphOutputs)
        {
            foreach (var output in _graph.Output.Where(o => o.Name == oldName))
                output.Name = newName;
        }
    }

    /// <summary>
    /// Puts a new single-input node on the edge from <paramref name="tensorName"/> to <paramref name="consumer"/> only:
    /// tensor → node → consumer. Other consumers keep reading the tensor.
    /// </summary>
    public OnnxNode InsertNodeOnEdge(string opType, string tensorName, NodeInput consumer, IEnumerable<string>? extraInputs = null, string? name = null, string domain = "")
    {
        if (consumer.Node.Inputs.ElementAtOrDefault(consumer.InputIndex) != tensorName)
            throw new OnnxGraphException($"Input {consumer.InputIndex} of node '{consumer.Node.Name}' does not read '{tensorName}'.");
        string output = UniqueName($"{tensorName}_{opType}");
        var node = AddNode(opType, new[] { tensorName }.Concat(extraInputs ?? []), [output], name, domain);
        ReplaceInput(consumer.Node, consumer.InputIndex, output);
        return node;
    }

    /// <summary>
    /// Adds an initializer, renaming it if a node, initializer or graph input already produces that name; returns the
    /// name used. A name nodes read but nothing produces yet keeps its name, so this supplies the missing value.
    /// </summary>
    public string AddInitializer(TensorData tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        bool produced = _producers.ContainsKey(tensor.Name) || _initializers.ContainsKey(tensor.Name) || _graphInputs.Contains(tensor.Name) || _reserved.Contains(tensor.Name);
        string name = produced ? UniqueName(tensor.Name) : tensor.Name;
        var proto = tensor.Proto.Clone();
        proto.Name = name;
        _graph.Initializer.Add(proto);
        _initializers[name] = new TensorData(proto, _source);
        return name;
    }

    /// <summary>Replaces the value of the initializer named <paramref name="tensor"/>.Name, keeping its name and place.</summary>
    /// <param name="tensor">The new value; its name picks the initializer. The graph keeps a copy.</param>
    /// <example>
    /// <code language="csharp">
    /// var w = graph.Initializers["conv1.weight"];
    /// graph.ReplaceInitializer(TensorData.FromFloats(w.Name, w.Dims.ToArray(), trainedValues));
    /// </code>
    /// </example>
    /// <exception cref="OnnxGraphException">The graph has no initializer of that name.</exception>
    public void ReplaceInitializer(TensorData tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_initializers.TryGetValue(tensor.Name, out var old))
            throw new OnnxGraphException($"Graph '{Name}' has no initializer '{tensor.Name}'.");
        var proto = tensor.Proto.Clone();
        _graph.Initializer[_graph.Initializer.IndexOf(old.Proto)] = proto;
        _initializers[tensor.Name] = new TensorData(proto, _source);
    }

    /// <summary>Removes an initializer (and its old-IR-style graph input entry).</summary>
    public void RemoveInitializer(string name)
    {
        if (!_initializers.Remove(name, out var tensor))
            throw new OnnxGraphException($"Graph '{Name}' has no initializer '{name}'.");
        _graph.Initializer.Remove(tensor.Proto);
        var input = _graph.Input.FirstOrDefault(i => i.Name == name);
        if (input is not null)
        {
            _graph.Input.Remove(input);
            _graphInputs.Remove(name);
        }
    }

    /// <summary>Removes initializers that nothing reads; returns how many.</summary>
    public int RemoveUnusedInitializers()
    {
        var unused = _initializers.Keys.Where(n => !IsUsed(n)).ToList();
        foreach (var name in unused)
            RemoveInitializer(name);
        return unused.Count;
    }

    /// <summary>Gives every unnamed or duplicate-named node a unique name (quantization reports and edges refer to nodes by name).</summary>
    internal void EnsureUniqueNodeNames()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in _nodes)
        {
            if (node.Name.Length > 0 && seen.Add(node.Name))
                continue;
            string name = UniqueName(node.Name.Length > 0 ? node.Name : node.OpType);
            node.Proto.Name = name;
            _nodeNames.Add(name);
            seen.Add(name);
        }
    }

    /// <summary>A name not used by any tensor, node or initializer, starting with <paramref name="prefix"/>.</summary>
    public string UniqueName(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0 && !IsNameTaken(prefix))
            return Reserve(prefix);
        string candidate;
        do
        {
            candidate = $"{prefix}_{++_nameCounter}";
        }
        while (IsNameTaken(candidate));
        return Reserve(candidate);
    }

    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);

    private string Reserve(string name)
    {
        _reserved.Add(name);
        return name;
    }

    private bool IsNameTaken(string name) =>
        _reserved.Contains(name) || _nodeNames.Contains(name) || _producers.ContainsKey(name) || _initializers.ContainsKey(name)
        || _graphInputs.Contains(name) || _consumers.ContainsKey(name) || _subgraphReads.ContainsKey(name);

    private void Register(OnnxNode node)
    {
        foreach (var output in node.Outputs.Where(o => o.Length > 0))
        {
            if (_producers.TryGetValue(output, out var other))
                throw new OnnxGraphException($"Tensor '{output}' is already produced by node '{other.Name}'; node '{node.Name}' cannot produce it too.");
            if (_initializers.ContainsKey(output) || IsGraphInput(output))
                throw new OnnxGraphException($"Tensor '{output}' is an initializer or graph input; node '{node.Name}' cannot produce it.");
        }

        _nodes.Add(node);
        _nodeSet.Add(node);
        if (node.Name.Length > 0)
            _nodeNames.Add(node.Name);
        foreach (var output in node.Outputs.Where(o => o.Length > 0))
            _producers[output] = node;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i].Length > 0)
                AddConsumer(node.Inputs[i], new NodeInput(node, i));
        }

        foreach (var read in OuterScopeReads(node.Proto))
            _subgraphReads[read] = _subgraphReads.GetValueOrDefault(read) + 1;
    }

    /// <summary>Drops a node from the maps; the caller has taken it out of <see cref="_nodes"/>.</summary>
    private void Unregister(OnnxNode node)
    {
        _nodeSet.Remove(node);
        _nodeNames.Remove(node.Name);
        foreach (var output in node.Outputs.Where(o => o.Length > 0))
            _producers.Remove(output);
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i].Length > 0 && _consumers.TryGetValue(node.Inputs[i], out var list))
                list.Remove(new NodeInput(node, i));
        }

        foreach (var read in OuterScopeReads(node.Proto))
        {
            if (--_subgraphReads[read] == 0)
                _subgraphReads.Remove(read);
        }
    }

    private void AddConsumer(string tensor, NodeInput use)
    {
        if (!_consumers.TryGetValue(tensor, out var list))
            _consumers[tensor] = list = [];
        list.Add(use);
    }

    /// <summary>Names a node's subgraphs read from the enclosing scope.</summary>
    private static IEnumerable<string> OuterScopeReads(NodeProto node)
    {
        HashSet<string>? reads = null;
        foreach (var attr in node.Attribute)
        {
            foreach (var g in attr.G is null ? attr.Graphs : attr.Graphs.Prepend(attr.G))
            {
                reads ??= new HashSet<string>(StringComparer.Ordinal);
                CollectOuterReads(g, reads);
            }
        }

        return reads ?? Enumerable.Empty<string>();
    }

    private static void CollectOuterReads(GraphProto graph, HashSet<string> reads)
    {
        var local = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)), StringComparer.Ordinal);
        foreach (var n in graph.Node)
            local.UnionWith(n.Output);
        foreach (var n in graph.Node)
        {
            foreach (var input in n.Input.Where(i => i.Length > 0 && !local.Contains(i)))
                reads.Add(input);
            foreach (var inner in OuterScopeReads(n).Where(r => !local.Contains(r)))
                reads.Add(inner);
        }

        foreach (var output in graph.Output.Where(o => !local.Contains(o.Name)))
            reads.Add(output.Name);
    }
}
