using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>One tensor found in a model, and whether it is a graph initializer (of the main graph or a subgraph).</summary>
internal readonly record struct TensorSite(TensorProto Tensor, bool IsInitializer);

/// <summary>
/// Enumerates every TensorProto a model holds: initializers and sparse initializers of the main graph and of every
/// subgraph, node attribute tensors (t, tensors, sparse_tensor, sparse_tensors), function bodies and training
/// graphs. The order depends only on the model's structure, so walking a model and its clone pairs their tensors.
/// </summary>
internal static class OnnxTensorWalker
{
    internal static IEnumerable<TensorSite> AllTensors(ModelProto model)
    {
        var sites = new List<TensorSite>();
        if (model.Graph is not null)
        {
            AddGraph(model.Graph, sites);
        }

        foreach (var function in model.Functions)
        {
            AddNodes(function.Node, sites);
        }

        foreach (var training in model.TrainingInfo)
        {
            if (training.Initialization is not null)
            {
                AddGraph(training.Initialization, sites);
            }

            if (training.Algorithm is not null)
            {
                AddGraph(training.Algorithm, sites);
            }
        }

        return sites;
    }

    private static void AddGraph(GraphProto graph, List<TensorSite> sites)
    {
        foreach (var initializer in graph.Initializer)
        {
            sites.Add(new TensorSite(initializer, true));
        }

        foreach (var sparse in graph.SparseInitializer)
        {
            AddSparse(sparse, sites);
        }

        AddNodes(graph.Node, sites);
    }

    private static void AddNodes(IEnumerable<NodeProto> nodes, List<TensorSite> sites)
    {
        foreach (var node in nodes)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null)
                {
                    sites.Add(new TensorSite(attribute.T, false));
                }

                foreach (var tensor in attribute.Tensors)
                {
                    sites.Add(new TensorSite(tensor, false));
                }

                if (attribute.SparseTensor is not null)
                {
                    AddSparse(attribute.SparseTensor, sites);
                }

                foreach (var sparse in attribute.SparseTensors)
                {
                    AddSparse(sparse, sites);
                }

                if (attribute.G is not null)
                {
                    AddGraph(attribute.G, sites);
                }

                foreach (var graph in attribute.Graphs)
                {
                    AddGraph(graph, sites);
                }
            }
        }
    }

    private static void AddSparse(SparseTensorProto sparse, List<TensorSite> sites)
    {
        if (sparse.Values is not null)
        {
            sites.Add(new TensorSite(sparse.Values, false));
        }

        if (sparse.Indices is not null)
        {
            sites.Add(new TensorSite(sparse.Indices, false));
        }
    }
}
