using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// Structural checks run when a model is loaded, so that later stages can trust it: an IR version, opset imports
/// and a graph are present; every tensor name has exactly one producer within its graph; every node input and
/// graph output is produced (by a node, a graph input, an initializer, or for subgraphs an enclosing graph; ""
/// marks an absent optional input); and every tensor's data matches its dims and data_type, including external
/// data, which must exist and lie inside its file. Throws <see cref="OnnxFormatException"/> naming the model and
/// the place at fault. Work is linear in the model's size and nothing is allocated from declared sizes.
/// </summary>
internal sealed class OnnxModelValidator
{
    private readonly ModelProto _proto;
    private readonly string _modelName;
    private readonly ExternalDataStore _externalData;

    internal OnnxModelValidator(ModelProto proto, string modelName, ExternalDataStore externalData)
    {
        _proto = proto;
        _modelName = modelName;
        _externalData = externalData;
    }

    /// <summary>Runs every check; throws <see cref="OnnxFormatException"/> on the first problem.</summary>
    internal void Validate()
    {
        if (!_proto.HasIrVersion || _proto.IrVersion < 1)
        {
            throw Fail("has no ir_version; it is not an ONNX model, or the file is cut short");
        }

        if (_proto.Graph is null)
        {
            throw Fail("has no graph; it is not an ONNX model, or the file is cut short");
        }

        ValidateOpsetImports();
        ValidateUniqueKeys(_proto.MetadataProps, "metadata_props");

        var mainName = string.IsNullOrEmpty(_proto.Graph.Name) ? "main graph" : $"graph '{_proto.Graph.Name}'";
        ValidateGraph(_proto.Graph, mainName, outer: null);

        foreach (var function in _proto.Functions)
        {
            ValidateFunction(function);
        }
    }

    private void ValidateOpsetImports()
    {
        if (_proto.IrVersion >= 3 && _proto.OpsetImport.Count == 0)
        {
            throw Fail("imports no operator set (opset_import is empty); the file may be cut short");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var opset in _proto.OpsetImport)
        {
            var domain = OnnxModel.NormalizeDomain(opset.Domain);
            if (!seen.Add(domain))
            {
                throw Fail($"imports operator set domain '{opset.Domain}' more than once");
            }

            if (opset.Version < 1)
            {
                throw Fail($"imports operator set domain '{opset.Domain}' with version {opset.Version}");
            }
        }
    }

    private void ValidateUniqueKeys(IEnumerable<StringStringEntryProto> entries, string where)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (!keys.Add(entry.Key))
            {
                throw Fail($"has key '{entry.Key}' twice in {where}");
            }
        }
    }

    private void ValidateGraph(GraphProto graph, string where, Scope? outer)
    {
        // Every name this graph defines, with what defines it (for duplicate messages).
        var producers = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Input.Count; i++)
        {
            var name = graph.Input[i].Name;
            if (string.IsNullOrEmpty(name))
            {
                throw Fail($"{where}: graph input #{i} has no name");
            }

            if (!producers.TryAdd(name, "a graph input"))
            {
                throw Fail($"{where}: graph input '{name}' is listed twice");
            }
        }

        var initializers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            var tensor = graph.Initializer[i];
            ValidateTensor(tensor, where);
            AddInitializerName(tensor.Name, i, where, producers, initializers);
        }

        for (var i = 0; i < graph.SparseInitializer.Count; i++)
        {
            var sparse = graph.SparseInitializer[i];
            if (sparse.Values is null)
            {
                throw Fail($"{where}: sparse initializer #{i} has no values tensor");
            }

            ValidateSparse(sparse, where);
            AddInitializerName(sparse.Values.Name, i, where, producers, initializers);
        }

        for (var i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            var description = Describe(node, i);
            if (string.IsNullOrEmpty(node.OpType))
            {
                throw Fail($"{where}: {description} has no op_type");
            }

            foreach (var output in node.Output)
            {
                if (output.Length != 0 && !producers.TryAdd(output, description))
                {
                    throw Fail($"{where}: tensor '{output}' is produced twice, by {producers[output]} and by {description}");
                }
            }
        }

        var scope = new Scope(producers, outer);
        ValidateNodes(graph.Node, where, scope);

        for (var i = 0; i < graph.Output.Count; i++)
        {
            var name = graph.Output[i].Name;
            if (string.IsNullOrEmpty(name))
            {
                throw Fail($"{where}: graph output #{i} has no name");
            }

            if (!scope.Contains(name))
            {
                throw Fail($"{where}: graph output '{name}' is produced by no node, graph input or initializer");
            }
        }
    }

    private void AddInitializerName(
        string name, int index, string where, Dictionary<string, string> producers, HashSet<string> initializers)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw Fail($"{where}: initializer #{index} has no name");
        }

        if (!initializers.Add(name))
        {
            throw Fail($"{where}: initializer '{name}' is defined twice");
        }

        // Before IR version 4, initializers were also listed as graph inputs; that pairing is not a duplicate.
        producers.TryAdd(name, "an initializer");
    }

    private void ValidateFunction(FunctionProto function)
    {
        var where = $"function '{function.Domain}:{function.Name}'";
        var producers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in function.Input)
        {
            if (input.Length != 0 && !producers.TryAdd(input, "a function input"))
            {
                throw Fail($"{where}: input '{input}' is listed twice");
            }
        }

        for (var i = 0; i < function.Node.Count; i++)
        {
            var node = function.Node[i];
            var description = Describe(node, i);
            if (string.IsNullOrEmpty(node.OpType))
            {
                throw Fail($"{where}: {description} has no op_type");
            }

            foreach (var output in node.Output)
            {
                if (output.Length != 0 && !producers.TryAdd(output, description))
                {
                    throw Fail($"{where}: tensor '{output}' is produced twice, by {producers[output]} and by {description}");
                }
            }
        }

        var scope = new Scope(producers, null);
        ValidateNodes(function.Node, where, scope);
        foreach (var output in function.Output)
        {
            if (!scope.Contains(output))
            {
                throw Fail($"{where}: output '{output}' is produced by no node or function input");
            }
        }
    }

    private void ValidateNodes(IList<NodeProto> nodes, string where, Scope scope)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            var description = Describe(node, i);
            foreach (var input in node.Input)
            {
                // "" is an absent optional input.
                if (input.Length != 0 && !scope.Contains(input))
                {
                    throw Fail($"{where}: {description} reads '{input}', which no node, graph input or initializer produces");
                }
            }

            foreach (var attribute in node.Attribute)
            {
                var attributeWhere = $"{where}, {description} attribute '{attribute.Name}'";
                if (attribute.T is not null)
                {
                    ValidateTensor(attribute.T, attributeWhere);
                }

                foreach (var tensor in attribute.Tensors)
                {
                    ValidateTensor(tensor, attributeWhere);
                }

                if (attribute.SparseTensor is not null)
                {
                    ValidateSparse(attribute.SparseTensor, attributeWhere);
                }

                foreach (var sparse in attribute.SparseTensors)
                {
                    ValidateSparse(sparse, attributeWhere);
                }

                // Subgraphs may read any name of the enclosing graphs.
                if (attribute.G is not null)
                {
                    ValidateGraph(attribute.G, attributeWhere, scope);
                }

                foreach (var graph in attribute.Graphs)
                {
                    ValidateGraph(graph, attributeWhere, scope);
                }
            }
        }
    }

    private void ValidateSparse(SparseTensorProto sparse, string where)
    {
        if (sparse.Values is not null)
        {
            ValidateTensor(sparse.Values, where);
        }

        if (sparse.Indices is not null)
        {
            ValidateTensor(sparse.Indices, where);
        }
    }

    /// <summary>Checks data_type, dims and that the data (raw, typed or external) has exactly the size the dims need.</summary>
    private void ValidateTensor(TensorProto tensor, string where)
    {
        var dataType = tensor.DataType;
        if (!TensorLayout.IsKnown(dataType))
        {
            throw FailTensor(tensor, where, $"has unknown data_type {dataType}");
        }

        var count = TensorLayout.TryGetElementCount(tensor.Dims, out var dimsError);
        if (count is null)
        {
            throw FailTensor(tensor, where, dimsError!);
        }

        if (tensor.Segment is not null)
        {
            // A segment holds only part of a tensor, so its data cannot be checked against the full dims.
            return;
        }

        var typeName = TensorLayout.Name(dataType);
        var shape = $"dims {TensorLayout.FormatDims(tensor.Dims)} of {typeName}";
        if (TensorLayout.IsExternal(tensor))
        {
            if (dataType == TensorLayout.String)
            {
                throw FailTensor(tensor, where, "is a STRING tensor with external data, which ONNX does not allow");
            }

            var segment = _externalData.Resolve(tensor);
            var needed = TensorLayout.RawByteCount(dataType, count.Value);
            if (segment.Length != needed)
            {
                throw FailTensor(tensor, where, $"has {segment.Length} bytes of external data, but {shape} need {TensorLayout.FormatCount(needed)}");
            }

            return;
        }

        var typedFields = TensorLayout.NonEmptyTypedFields(tensor);
        if (tensor.HasRawData)
        {
            if (dataType == TensorLayout.String)
            {
                throw FailTensor(tensor, where, "is a STRING tensor with raw_data; strings must be in string_data");
            }

            if (typedFields.Count > 0)
            {
                throw FailTensor(tensor, where, $"has both raw_data and {TensorLayout.Name(typedFields[0])}");
            }

            var needed = TensorLayout.RawByteCount(dataType, count.Value);
            if (tensor.RawData.Length != needed)
            {
                throw FailTensor(tensor, where, $"has {tensor.RawData.Length} bytes of raw_data, but {shape} need {TensorLayout.FormatCount(needed)}");
            }

            return;
        }

        if (typedFields.Count == 0)
        {
            if (count.Value != 0)
            {
                throw FailTensor(tensor, where, $"has no data, but {shape} hold {count.Value} elements");
            }

            return;
        }

        if (typedFields.Count > 1)
        {
            throw FailTensor(tensor, where, $"has data in both {TensorLayout.Name(typedFields[0])} and {TensorLayout.Name(typedFields[1])}");
        }

        var field = typedFields[0];
        var expectedField = TensorLayout.FieldFor(dataType);
        if (field != expectedField)
        {
            throw FailTensor(tensor, where, $"is {typeName} but has its data in {TensorLayout.Name(field)}; {typeName} uses {TensorLayout.Name(expectedField)}");
        }

        var values = TensorLayout.Count(tensor, field);
        var neededValues = TensorLayout.TypedValueCount(dataType, count.Value);
        if (values != neededValues)
        {
            throw FailTensor(tensor, where, $"has {values} values in {TensorLayout.Name(field)}, but {shape} need {TensorLayout.FormatCount(neededValues)}");
        }
    }

    private static string Describe(NodeProto node, int index) =>
        string.IsNullOrEmpty(node.Name) ? $"node #{index} ({node.OpType})" : $"node '{node.Name}' ({node.OpType})";

    private OnnxFormatException FailTensor(TensorProto tensor, string where, string problem) =>
        Fail($"{where}: tensor '{tensor.Name}' {problem}");

    private OnnxFormatException Fail(string problem) => OnnxFormatException.For(_modelName, problem);

    /// <summary>The names visible in a graph: its own, then those of the enclosing graphs.</summary>
    private sealed class Scope(Dictionary<string, string> names, Scope? outer)
    {
        internal bool Contains(string name)
        {
            for (var scope = this; scope is not null; scope = scope.Outer)
            {
                if (scope.Names.ContainsKey(name))
                {
                    return true;
                }
            }

            return false;
        }

        private Dictionary<string, string> Names { get; } = names;

        private Scope? Outer { get; } = outer;
    }
}
