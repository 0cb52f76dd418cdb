using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// Structural checks run when a model is loaded: a graph exists, opsets are declared, every tensor a node reads is
/// produced somewhere, no tensor has two producers, and every tensor's data matches its dims and type.
/// </summary>
internal static class OnnxModelValidator
{
    public static void Validate(ModelProto model, string source, string? baseDirectory)
    {
        if (model.Graph is null)
            throw new OnnxFormatException(source, "the model has no graph (not an ONNX model, or truncated).");
        if (model.IrVersion >= 3 && model.OpsetImport.Count == 0)
            throw new OnnxFormatException(source, $"the model (IR version {model.IrVersion}) declares no opset import.");
        foreach (var opset in model.OpsetImport)
        {
            if (opset.Version <= 0)
                throw new OnnxFormatException(source, $"opset import for domain '{opset.Domain}' has version {opset.Version}.");
        }

        var functions = new HashSet<(string, string)>(model.Functions.Select(f => (f.Domain, f.Name)));
        ValidateGraph(model.Graph, source, baseDirectory, outerScope: null, functions);
    }

    private static void ValidateGraph(GraphProto graph, string source, string? baseDirectory, HashSet<string>? outerScope, HashSet<(string, string)> functions)
    {
        var produced = new Dictionary<string, string>(StringComparer.Ordinal);
        void Produce(string name, string by)
        {
            if (string.IsNullOrEmpty(name))
                return;
            if (produced.TryGetValue(name, out var first))
                throw new OnnxFormatException(source, $"tensor '{name}' is produced twice (by {first} and by {by}).");
            produced[name] = by;
        }

        var inputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            if (string.IsNullOrEmpty(input.Name))
                throw new OnnxFormatException(source, $"graph '{graph.Name}' has an input with no name.");
            if (!inputNames.Add(input.Name))
                throw new OnnxFormatException(source, $"graph input '{input.Name}' is listed twice.");
        }

        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in graph.Initializer)
        {
            ValidateTensor(init, source, baseDirectory, "initializer");
            if (!initializerNames.Add(init.Name))
                throw new OnnxFormatException(source, $"initializer '{init.Name}' is defined twice.");
        }

        // Old IR style lists initializers as graph inputs too: one tensor, one producer.
        foreach (var name in inputNames)
            Produce(name, "a graph input");
        foreach (var name in initializerNames.Where(n => !inputNames.Contains(n)))
            Produce(name, "an initializer");
        foreach (var sparse in graph.SparseInitializer)
        {
            if (sparse.Values is not null)
                Produce(sparse.Values.Name, "a sparse initializer");
        }

        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            string label = Describe(node, i);
            if (string.IsNullOrEmpty(node.OpType))
                throw new OnnxFormatException(source, $"{label} has no op_type.");
            foreach (var output in node.Output)
                Produce(output, label);
        }

        var visible = new HashSet<string>(produced.Keys, StringComparer.Ordinal);
        if (outerScope is not null)
            visible.UnionWith(outerScope);

        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            string label = Describe(node, i);
            foreach (var input in node.Input)
            {
                if (input.Length > 0 && !visible.Contains(input))
                    throw new OnnxFormatException(source, $"{label} reads tensor '{input}', which no node, initializer or graph input produces.");
            }

            foreach (var attr in node.Attribute)
            {
                if (attr.T is not null)
                    ValidateTensor(attr.T, source, baseDirectory, $"attribute '{attr.Name}' of {label}");
                foreach (var t in attr.Tensors)
                    ValidateTensor(t, source, baseDirectory, $"attribute '{attr.Name}' of {label}");
                if (attr.G is not null)
                    ValidateGraph(attr.G, source, baseDirectory, visible, functions);
                foreach (var g in attr.Graphs)
                    ValidateGraph(g, source, baseDirectory, visible, functions);
            }
        }

        foreach (var output in graph.Output)
        {
            if (string.IsNullOrEmpty(output.Name) || !visible.Contains(output.Name))
                throw new OnnxFormatException(source, $"graph output '{output.Name}' is not produced by any node, initializer or input.");
        }
    }

    private static string Describe(NodeProto node, int index) =>
        string.IsNullOrEmpty(node.Name) ? $"node #{index} ({node.OpType})" : $"node '{node.Name}' ({node.OpType})";

    /// <summary>Checks that a tensor's data matches its type and dims.</summary>
    public static void ValidateTensor(TensorProto t, string source, string? baseDirectory, string role)
    {
        string what = $"{role} '{t.Name}'";
        if (ElementSizeUnknown(t.DataType))
            throw new OnnxFormatException(source, $"{what} has unknown data_type {t.DataType}.");
        long? count = TensorLayout.ElementCount(t.Dims);
        if (count is null)
            throw new OnnxFormatException(source, $"{what} has invalid dims [{string.Join(", ", t.Dims)}] (negative or too large).");

        if (t.Segment is not null)
            return; // segmented tensors split data across messages; nothing to check per message.

        if (ExternalDataReference.IsExternal(t))
        {
            var ext = ExternalDataReference.Parse(t, source);
            long? expected = TensorLayout.RawByteLength(t.DataType, count.Value);
            if (ext.Length is long len && expected is long exp && len != exp)
                throw new OnnxFormatException(source, $"{what} has external length {len} bytes but dims [{string.Join(", ", t.Dims)}] need {exp}.");
            if (baseDirectory is null)
                return; // checked when the data is read
            string path = ext.Resolve(baseDirectory, source, t.Name);
            if (!File.Exists(path))
                throw new OnnxFormatException(source, $"{what} reads external data file '{ext.Location}', which does not exist.");
            long fileLength = new FileInfo(path).Length;
            long need = ext.Length ?? expected ?? 0;
            if (ext.Offset > fileLength || need > fileLength - ext.Offset)
                throw new OnnxFormatException(source, $"{what} reads {need} bytes at offset {ext.Offset} of '{ext.Location}', past its end ({fileLength} bytes).");
            return;
        }

        if (t.HasRawData)
        {
            long? expected = TensorLayout.RawByteLength(t.DataType, count.Value);
            if (expected is null)
                throw new OnnxFormatException(source, $"{what} of type {t.DataType} cannot use raw_data.");
            if (t.RawData.Length != expected)
                throw new OnnxFormatException(source, $"{what} has {t.RawData.Length} bytes of raw_data but dims [{string.Join(", ", t.Dims)}] need {expected}.");
            return;
        }

        var (field, have) = TensorLayout.TypedFieldCount(t, count.Value);
        if (have != count.Value && !(have == 0 && count.Value == 0))
            throw new OnnxFormatException(source, $"{what} has {have} values in {field} but dims [{string.Join(", ", t.Dims)}] need {count.Value}.");
    }

    private static bool ElementSizeUnknown(int dataType) => dataType == 0 || TensorLayout.ElementSize(dataType, out _) < 0;
}
