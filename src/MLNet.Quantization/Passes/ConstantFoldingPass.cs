using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Passes;

/// <summary>
/// Folds every node whose inputs are all constant into initializers, evaluating those nodes with ONNX Runtime on a
/// model made of just them, so it works for every op ORT runs and no op semantics are written here. Nodes with
/// subgraphs, random ops and nodes producing graph outputs are left alone.
/// </summary>
internal static class ConstantFoldingPass
{
    private static readonly HashSet<string> NeverFold = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout",
    };

    /// <summary>Folds constant subgraphs; returns how many nodes were removed.</summary>
    public static int Run(OnnxGraph graph)
    {
        var order = graph.TopologicalOrder();
        var constant = new HashSet<string>(graph.Initializers.Keys.Where(n => !graph.IsGraphInput(n)), StringComparer.Ordinal);
        var foldable = new List<OnnxNode>();
        foreach (var node in order)
        {
            if (NeverFold.Contains(node.OpType) || node.HasSubgraphs || node.Outputs.Any(graph.IsGraphOutput))
                continue;
            if (!node.IsDefaultDomain)
                continue;
            if (node.Inputs.All(i => i.Length == 0 || constant.Contains(i)))
            {
                foldable.Add(node);
                foreach (var o in node.Outputs.Where(o => o.Length > 0))
                    constant.Add(o);
            }
        }

        if (foldable.Count == 0)
            return 0;

        var foldedSet = new HashSet<OnnxNode>(foldable, ReferenceEqualityComparer.Instance);
        // outputs read by nodes that stay (or by nothing we keep) become initializers
        var needed = foldable.SelectMany(n => n.Outputs)
            .Where(o => o.Length > 0 && graph.GetConsumers(o).Any(c => !foldedSet.Contains(c.Node)))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var values = Evaluate(graph, foldable, needed);

        // each result becomes an initializer (renamed if its name is taken), then the folded nodes go, in one pass
        foreach (var name in needed)
            graph.ReplaceAllUses(name, graph.AddInitializer(values[name]));
        graph.RemoveNodes(foldable);
        graph.RemoveUnusedInitializers();
        return foldable.Count;
    }

    private static Dictionary<string, TensorData> Evaluate(OnnxGraph graph, List<OnnxNode> nodes, List<string> outputs)
    {
        var reader = graph.ToModel();
        var source = reader.Proto;
        var model = new ModelProto { IrVersion = source.IrVersion, Graph = new GraphProto { Name = "fold" } };
        model.OpsetImport.AddRange(source.OpsetImport);
        var producedHere = new HashSet<string>(nodes.SelectMany(n => n.Outputs), StringComparer.Ordinal);
        var initNames = nodes.SelectMany(n => n.Inputs).Where(i => i.Length > 0 && !producedHere.Contains(i)).Distinct(StringComparer.Ordinal);
        foreach (var name in initNames)
        {
            model.Graph.Initializer.Add(graph.Initializers[name].Proto.Clone());
        }

        foreach (var node in nodes)
            model.Graph.Node.Add(node.Proto.Clone());
        foreach (var name in outputs)
            model.Graph.Output.Add(new ValueInfoProto { Name = name });

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        string modelName = OrtBoundary.ModelName(graph);
        string purpose = $"fold constant nodes [{string.Join(", ", nodes.Take(5).Select(n => n.Name))}{(nodes.Count > 5 ? ", ..." : "")}]";
        // Initializers and Constant attribute tensors may name external data: inline them through the checked store.
        using var session = OrtBoundary.CreateSession(new Onnx.OnnxModel(model, reader.SourceName, reader.BaseDirectory), options, modelName, purpose);
        using var results = OrtBoundary.Run(() => session.Run(Array.Empty<NamedOnnxValue>(), outputs), modelName, purpose);
        return results.ToDictionary(r => r.Name, r => OrtValueConversion.ToTensorData(r, r.Name), StringComparer.Ordinal);
    }
}
