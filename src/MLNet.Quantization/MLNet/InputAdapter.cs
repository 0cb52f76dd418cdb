using Google.Protobuf;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization;

/// <summary>
/// Lets a model take columns of another numeric type than its inputs: the graph input gets the column's element type
/// and a Cast to the original type is put in front of its consumers. The input keeps its name (ML.NET binds columns
/// to inputs by name), so the result runs under ML.NET's own OnnxTransformer, saved and reloaded.
/// </summary>
internal static class InputAdapter
{
    public static byte[] Adapt(OnnxModel model, IReadOnlyDictionary<string, TensorElementType> columnTypes)
    {
        var proto = model.Proto.Clone();
        var graph = proto.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var casts = new List<NodeProto>();
        foreach (var input in graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            var tensor = input.Type?.TensorType;
            if (tensor is null || !columnTypes.TryGetValue(input.Name, out var columnType) || (int)columnType == tensor.ElemType)
                continue;
            string original = input.Name;
            string cast = Unique(graph, original + "_cast_from_" + columnType.ToString().ToLowerInvariant());
            foreach (var node in graph.Node)
            {
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i] == original)
                        node.Input[i] = cast;
                }
            }

            foreach (var output in graph.Output.Where(o => o.Name == original))
                output.Name = cast;
            var castNode = new NodeProto { OpType = "Cast", Name = cast, Input = { original }, Output = { cast } };
            castNode.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = tensor.ElemType });
            casts.Add(castNode);
            tensor.ElemType = (int)columnType;
        }

        for (int i = casts.Count - 1; i >= 0; i--)
            graph.Node.Insert(0, casts[i]);
        return proto.ToByteArray();
    }

    private static string Unique(GraphProto graph, string name)
    {
        var used = new HashSet<string>(graph.Node.SelectMany(n => n.Output.Append(n.Name)).Concat(graph.Input.Select(i => i.Name)), StringComparer.Ordinal);
        string candidate = name;
        for (int k = 1; used.Contains(candidate); k++)
            candidate = name + "_" + k;
        return candidate;
    }
}
