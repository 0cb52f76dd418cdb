using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Passes;

/// <summary>A node constant folding did not evaluate because it was over a <see cref="FoldingLimits"/> limit.</summary>
/// <param name="Node">The node; it stays in the graph.</param>
/// <param name="OverSize">True when its output is over the byte limit (false: over the work limit, or of unknown size).</param>
/// <param name="Reason">What it would have cost, and the limit.</param>
internal sealed record UnfoldedNode(OnnxNode Node, bool OverSize, string Reason);

/// <summary>What constant folding did.</summary>
/// <param name="Folded">Nodes removed.</param>
/// <param name="Unfolded">Nodes with constant inputs left in the graph because of the limits.</param>
internal sealed record FoldingOutcome(int Folded, IReadOnlyList<UnfoldedNode> Unfolded);

/// <summary>
/// Folds every node whose inputs are all constant into initializers, evaluating those nodes with ONNX Runtime on a
/// model made of just them, so it works for every op ORT runs and no op semantics are written here. Nodes with
/// subgraphs, random ops and nodes producing graph outputs are left alone.
/// </summary>
/// <remarks>
/// Folding is bounded (<see cref="FoldingLimits"/>): it goes in waves, each wave the nodes whose inputs are all known
/// values. ORT's shape inference, which reads constant inputs (the shape of ConstantOfShape/Expand/Reshape, the
/// limits of Range, the repeats of Tile...), gives each wave's output shapes when the wave's session is created,
/// before anything runs; a node whose output would be over the byte limit, whose size is unknown, or whose work
/// (multiply-adds, estimated from the shapes) is over the work limit is not evaluated and stays in the graph, and so
/// do the nodes that read it.
/// </remarks>
internal static class ConstantFoldingPass
{
    private static readonly HashSet<string> NeverFold = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout",
    };

    /// <summary>Folds constant subgraphs within the default limits; returns how many nodes were removed.</summary>
    public static int Run(OnnxGraph graph) => Run(graph, FoldingLimits.For(graph, null), CancellationToken.None).Folded;

    /// <summary>Folds constant subgraphs within <paramref name="limits"/>.</summary>
    /// <exception cref="OperationCanceledException">Cancelled, also while ORT evaluates a wave.</exception>
    public static FoldingOutcome Run(OnnxGraph graph, FoldingLimits limits, CancellationToken cancellationToken)
    {
        var order = graph.TopologicalOrder();
        var candidates = order.Where(n => IsFoldableKind(graph, n)).ToList();
        var source = graph.ToModel();
        var values = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var accepted = new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);
        var unfolded = new List<UnfoldedNode>();
        var decided = new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);
        long totalBytes = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wave = candidates.Where(n => !decided.Contains(n) && n.Inputs.All(i => i.Length == 0 || values.ContainsKey(i) || IsConstant(graph, i))).ToList();
            if (wave.Count == 0)
                break;
            decided.UnionWith(wave);
            var results = EvaluateWave(graph, source, wave, values, limits, ref totalBytes, unfolded, cancellationToken);
            foreach (var node in wave.Where(n => n.Outputs.All(o => o.Length == 0 || results.ContainsKey(o))))
            {
                accepted.Add(node);
                foreach (var o in node.Outputs.Where(o => o.Length > 0))
                    values[o] = results[o];
            }
        }

        var foldable = order.Where(accepted.Contains).ToList();
        if (foldable.Count > 0)
            Replace(graph, foldable, values);
        return new FoldingOutcome(foldable.Count, unfolded);
    }

    private static bool IsFoldableKind(OnnxGraph graph, OnnxNode node) =>
        !NeverFold.Contains(node.OpType) && !node.HasSubgraphs && !node.Outputs.Any(graph.IsGraphOutput) && node.IsDefaultDomain;

    private static bool IsConstant(OnnxGraph graph, string name) => graph.Initializers.ContainsKey(name) && !graph.IsGraphInput(name);

    /// <summary>The folded nodes' results read by nodes that stay become initializers (renamed if the name is taken); the folded nodes go, consumers first.</summary>
    private static void Replace(OnnxGraph graph, List<OnnxNode> foldable, Dictionary<string, TensorData> values)
    {
        var foldedSet = new HashSet<OnnxNode>(foldable, ReferenceEqualityComparer.Instance);
        var needed = foldable.SelectMany(n => n.Outputs)
            .Where(o => o.Length > 0 && graph.GetConsumers(o).Any(c => !foldedSet.Contains(c.Node)))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var name in needed)
            graph.ReplaceAllUses(name, graph.AddInitializer(values[name]));
        graph.RemoveNodes(foldable);
        graph.RemoveUnusedInitializers();
    }

    /// <summary>
    /// Evaluates the nodes of a wave that are within the limits; returns their outputs. A node over a limit is added to
    /// <paramref name="unfolded"/> and left out. The output shapes come from the session ORT creates for the wave.
    /// </summary>
    private static Dictionary<string, TensorData> EvaluateWave(OnnxGraph graph, Onnx.OnnxModel source, List<OnnxNode> wave, Dictionary<string, TensorData> values,
        FoldingLimits limits, ref long totalBytes, List<UnfoldedNode> unfolded, CancellationToken cancellationToken)
    {
        string modelName = OrtBoundary.ModelName(graph);
        string purpose = $"fold constant nodes [{string.Join(", ", wave.Take(5).Select(n => n.Name))}{(wave.Count > 5 ? ", ..." : "")}]";
        var session = CreateSession(graph, source, wave, values, modelName, purpose);
        try
        {
            var within = new List<OnnxNode>();
            foreach (var node in wave)
            {
                string? reason = Check(node, session.OutputMetadata, values, graph, limits, ref totalBytes, out bool overSize);
                if (reason is null)
                    within.Add(node);
                else
                    unfolded.Add(new UnfoldedNode(node, overSize, reason));
            }

            if (within.Count == 0)
                return [];
            if (within.Count < wave.Count)
            {
                session.Dispose();
                session = CreateSession(graph, source, within, values, modelName, purpose);
            }

            var outputs = within.SelectMany(n => n.Outputs).Where(o => o.Length > 0).ToList();
            using var run = new CancellableRunOptions(cancellationToken);
            using var results = OrtBoundary.Run(() => session.Run(Array.Empty<NamedOnnxValue>(), outputs, run.Options), modelName, purpose, cancellationToken);
            return results.ToDictionary(r => r.Name, r => OrtValueConversion.ToTensorData(r, r.Name), StringComparer.Ordinal);
        }
        finally
        {
            session.Dispose();
        }
    }

    /// <summary>Why <paramref name="node"/> may not be evaluated, or null when it may (its bytes are then counted).</summary>
    private static string? Check(OnnxNode node, IReadOnlyDictionary<string, NodeMetadata> metadata, Dictionary<string, TensorData> values, OnnxGraph graph,
        FoldingLimits limits, ref long totalBytes, out bool overSize)
    {
        overSize = false;
        var shapes = new List<IReadOnlyList<long>>();
        long bytes = 0;
        foreach (var output in node.Outputs.Where(o => o.Length > 0))
        {
            if (!metadata.TryGetValue(output, out var meta) || !meta.IsTensor || meta.Dimensions.Any(d => d < 0))
                return $"the size of its output '{output}' is not known before it is computed";
            var dims = meta.Dimensions.Select(d => (long)d).ToArray();
            shapes.Add(dims);
            long elements = dims.Aggregate(1L, FoldingLimits.Saturating);
            bytes = Math.Min(long.MaxValue / 2, bytes + FoldingLimits.Saturating(elements, FoldingLimits.ElementBytes((TensorElementType)(int)meta.ElementDataType)));
            if (bytes > limits.MaxTensorBytes)
            {
                overSize = true;
                return string.Create(CultureInfo.InvariantCulture, $"its output '{output}' [{string.Join(", ", dims)}] would take {Bytes(bytes)}, over the {Bytes(limits.MaxTensorBytes)} limit of a folded tensor");
            }
        }

        if (totalBytes + bytes > limits.MaxTotalBytes)
        {
            overSize = true;
            return string.Create(CultureInfo.InvariantCulture, $"the folded tensors would together take over {Bytes(limits.MaxTotalBytes)} ({FoldingLimits.TotalBytesFactor}× the limit of a folded tensor)");
        }

        var inputs = node.Inputs.Select(i => i.Length == 0 ? null : (IReadOnlyList<long>?)(values.TryGetValue(i, out var v) ? v.Dims : graph.Initializers[i].Dims)).ToList();
        long work = FoldingWork.Estimate(node.OpType, inputs, shapes);
        if (work > limits.MaxWork)
            return string.Create(CultureInfo.InvariantCulture, $"evaluating it would take about {work:G3} multiply-adds, over the {limits.MaxWork:G3} limit of constant folding");
        totalBytes += bytes;
        return null;
    }

    private static string Bytes(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.##} MiB");

    /// <summary>A session over a model of just <paramref name="nodes"/>, their constant inputs as initializers and all their outputs as (untyped) outputs.</summary>
    private static InferenceSession CreateSession(OnnxGraph graph, Onnx.OnnxModel source, List<OnnxNode> nodes, Dictionary<string, TensorData> values, string modelName, string purpose)
    {
        var model = new ModelProto { IrVersion = source.Proto.IrVersion, Graph = new GraphProto { Name = "fold" } };
        model.OpsetImport.AddRange(source.Proto.OpsetImport);
        var initNames = nodes.SelectMany(n => n.Inputs).Where(i => i.Length > 0).Distinct(StringComparer.Ordinal);
        foreach (var name in initNames)
            model.Graph.Initializer.Add((values.TryGetValue(name, out var value) ? value : graph.Initializers[name]).Proto.Clone());
        foreach (var node in nodes)
            model.Graph.Node.Add(node.Proto.Clone());
        var outputs = nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0);

        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_DISABLE_ALL);
        // Initializers and Constant attribute tensors may name external data: inline them through the checked store.
        return ExtraOutputsSession.Create(new Onnx.OnnxModel(model, source.SourceName, source.BaseDirectory), outputs, options, modelName, purpose);
    }
}
