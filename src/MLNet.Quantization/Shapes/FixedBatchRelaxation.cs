using System.Globalization;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Shapes;

/// <summary>
/// Makes a fixed batch dimension (dimension 0 of every graph input, e.g. the 1 of a CNTK or Keras export) symbolic when
/// the graph allows it, and proves it did so soundly:
/// <list type="number">
/// <item>the inputs' dimension 0 becomes a symbol, and graph outputs and value_info entries declaring the fixed size there are relaxed or re-inferred;</item>
/// <item>a Reshape whose constant shape starts with the fixed size and whose data input's dimension 0 ONNX Runtime infers as
/// the batch symbol gets 0 there instead (copy the input's dimension): <c>[1, -1]</c> on <c>[1, C, H, W]</c> and
/// <c>[0, -1]</c> on <c>[N, C, H, W]</c> agree for every sample exactly because the copied dimension is the batch;
/// repeated until no such Reshape is left, so a Reshape behind a rewritten one is handled too;</item>
/// <item>a graph output whose inferred dimension 0 is still a fixed number means a constant shape (Expand, Tile,
/// ConstantOfShape, Slice, Resize sizes, a Reshape shape not of this form...) bakes the batch in: the graph stays fixed;</item>
/// <item>last, <see cref="BatchEquivalenceCheck"/> runs original and relaxed graph in ONNX Runtime and compares them per sample.</item>
/// </list>
/// When any step fails, the original graph is returned unchanged with the reason, and callers run one fixed batch per run.
/// </summary>
internal static class FixedBatchRelaxation
{
    private static readonly HashSet<string> ShapeReaders = new(StringComparer.Ordinal) { "Shape", "Size" };

    /// <summary>The graph to use (a relaxed copy, or <paramref name="graph"/> itself) and what was done.</summary>
    public static (OnnxGraph Graph, BatchOutcome Outcome) Run(OnnxGraph graph, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var inputs = graph.Inputs;
        var fixedInputs = inputs.Where(i => i.Shape is { Count: > 0 } s && s[0].Value is not null).ToList();
        if (fixedInputs.Count == 0)
            return (graph, BatchOutcome.AlreadySymbolic);
        long size = fixedInputs[0].Shape![0].Value!.Value;
        if (size is < 1 or > 4096)
            return (graph, Stay(Math.Max(size, 1), $"input '{fixedInputs[0].Name}' has batch dimension {size}, outside what can be checked"));
        int batch = (int)size;
        if (graph.Source?.UsesExternalData == true)
            return (graph, Stay(batch, "the model keeps its weights in external data, and checking a symbolic batch would need ONNX Runtime to load them whole"));
        if (Refusal(inputs, fixedInputs, size) is { } reason)
            return (graph, Stay(batch, reason));

        var relaxed = graph.Clone();
        string symbol = UniqueSymbol(graph);
        foreach (var input in inputs)
            relaxed.SetDeclaredShape(input.Name, [new Dimension(null, symbol), .. input.Shape!.Skip(1)]);
        foreach (var output in relaxed.Outputs.Where(o => o.Shape is { Count: > 0 } s && s[0].Value == size))
            relaxed.SetDeclaredShape(output.Name, [new Dimension(null, symbol), .. output.Shape!.Skip(1)]);
        var stale = relaxed.ValueInfos.Where(v => v.Shape is { Count: > 0 } s && s[0].Value == size).Select(v => v.Name).ToList();
        foreach (var name in stale)
            relaxed.RemoveValueInfo(name);

        IReadOnlyDictionary<string, ValueInfo> inferred;
        int rewritten;
        try
        {
            rewritten = RewriteReshapes(relaxed, size, symbol);
            inferred = OrtShapeInference.Infer(relaxed, relaxed.Nodes.SelectMany(n => n.Outputs));
        }
        catch (OnnxGraphException e)
        {
            return (graph, Stay(batch, e.Message));
        }

        if (BakedOutput(relaxed, inferred, symbol) is { } baked)
            return (graph, Stay(batch, baked));
        foreach (var name in stale.Where(inferred.ContainsKey))
            relaxed.SetValueInfo(inferred[name]);

        var check = BatchEquivalenceCheck.Verify(graph, relaxed, batch, cancellationToken);
        if (check.Failure is not null)
            return (graph, Stay(batch, $"the graph with a symbolic batch does not match it in ONNX Runtime: {check.Failure}"));
        string reshapes = rewritten > 0 ? string.Create(CultureInfo.InvariantCulture, $", {rewritten} Reshape shape(s) now copy it (0)") : "";
        return (relaxed, new BatchOutcome(null, string.Create(CultureInfo.InvariantCulture,
            $"the inputs' batch dimension was fixed at {size}; made symbolic ('{symbol}'){reshapes}; checked in ONNX Runtime against the original at batch 1 and {check.LargeBatch} (max difference {check.MaxDifference:G3} of the output scale)")));
    }

    /// <summary>What the graph's inputs declare, without changing anything (relaxing turned off).</summary>
    public static BatchOutcome Describe(OnnxGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var fixedInput = graph.Inputs.FirstOrDefault(i => i.Shape is { Count: > 0 } s && s[0].Value is not null);
        return fixedInput is null ? BatchOutcome.AlreadySymbolic : Stay(Math.Clamp(fixedInput.Shape![0].Value!.Value, 1, int.MaxValue), "making it symbolic is turned off");
    }

    private static BatchOutcome Stay(long size, string reason) =>
        new((int)Math.Clamp(size, 1, int.MaxValue), string.Create(CultureInfo.InvariantCulture, $"the batch stays fixed at {size}, so calibration and scoring run {size} sample(s) per run: {reason}"));

    /// <summary>Why the inputs cannot be checked with a symbolic batch, or null.</summary>
    private static string? Refusal(IReadOnlyList<ValueInfo> inputs, List<ValueInfo> fixedInputs, long size)
    {
        if (fixedInputs.Count != inputs.Count)
        {
            var other = inputs.First(i => !fixedInputs.Contains(i));
            return $"input '{other.Name}' ({other}) has no fixed batch dimension while '{fixedInputs[0].Name}' fixes it at {size}";
        }

        long elements = 0;
        foreach (var input in inputs)
        {
            if (input.Shape![0].Value != size)
                return $"inputs '{inputs[0].Name}' and '{input.Name}' fix different batch sizes ({inputs[0]}, {input})";
            int symbolic = input.Shape.Skip(1).ToList().FindIndex(d => d.Value is null);
            if (symbolic >= 0)
                return $"input '{input.Name}' ({input}) has a symbolic dimension {symbolic + 1}; give it a size (input shapes) so the graph can be checked";
            if (input.ElementType is not (TensorElementType.Float or TensorElementType.Int64))
                return $"input '{input.Name}' has element type {input.ElementType}; only float and int64 inputs are checked";
            long perSample = 1;
            foreach (var d in input.Shape.Skip(1))
                perSample = d.Value!.Value <= 0 || perSample > BatchEquivalenceCheck.MaxElements ? BatchEquivalenceCheck.MaxElements + 1 : perSample * d.Value.Value;
            elements += perSample * size * 3;
            if (elements > BatchEquivalenceCheck.MaxElements)
                return $"input '{input.Name}' ({input}) is too large to check";
        }

        return null;
    }

    /// <summary>Rewrites <c>Reshape(x, [B, ...])</c> to <c>Reshape(x, [0, ...])</c> where x's dimension 0 is the batch symbol; returns how many.</summary>
    private static int RewriteReshapes(OnnxGraph graph, long size, string symbol)
    {
        int total = 0;
        int limit = graph.Nodes.Count(n => n.OpType == "Reshape") + 1;
        for (int round = 0; round < limit; round++)
        {
            var candidates = graph.Nodes.Where(n => IsBatchReshape(graph, n, size)).ToList();
            if (candidates.Count == 0)
                break;
            var shapes = OrtShapeInference.Infer(graph, candidates.Select(n => n.Inputs[0]));
            int changed = 0;
            foreach (var node in candidates)
            {
                if (!shapes.TryGetValue(node.Inputs[0], out var data) || data.Shape is not { Count: > 0 } dims || dims[0].Symbol != symbol)
                    continue;
                graph.TryGetConstant(node.Inputs[1], out var shape);
                long[] values = shape!.ToInt64Array();
                values[0] = 0;
                string name = graph.AddInitializer(TensorData.FromInt64(graph.UniqueName(node.Inputs[1] + "_batch"), [values.Length], values));
                graph.ReplaceInput(node, 1, name);
                changed++;
            }

            if (changed == 0)
                break;
            total += changed;
        }

        if (total > 0)
            graph.RemoveUnusedInitializers();
        return total;
    }

    private static bool IsBatchReshape(OnnxGraph graph, OnnxNode node, long size) =>
        node.OpType == "Reshape" && node.IsDefaultDomain && node.Inputs.Count == 2 && node.GetInt("allowzero", 0) == 0
        && graph.TryGetConstant(node.Inputs[1], out var shape) && shape.ElementType == TensorElementType.Int64 && shape.Dims.Count == 1
        && shape.Dims[0] is >= 1 and <= 64 && shape.ToInt64Array()[0] == size;

    /// <summary>A graph output whose dimension 0 stays a fixed number with the batch symbolic, described with the node that fixes it; or null.</summary>
    private static string? BakedOutput(OnnxGraph graph, IReadOnlyDictionary<string, ValueInfo> inferred, string symbol)
    {
        var output = graph.Outputs.FirstOrDefault(o => inferred.TryGetValue(o.Name, out var info) && info.Shape is { Count: > 0 } s && s[0].Value is not null);
        if (output is null)
            return null;
        var shapes = new Dictionary<string, ValueInfo>(inferred, StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
            shapes[input.Name] = input;
        bool IsBatch(string t) => shapes.TryGetValue(t, out var v) && v.Shape is { Count: > 0 } s && s[0].Symbol == symbol;
        bool IsFixed(string t) => shapes.TryGetValue(t, out var v) && v.Shape is { Count: > 0 } s && s[0].Value is not null;
        var culprit = graph.TopologicalOrder().FirstOrDefault(n => !ShapeReaders.Contains(n.OpType) && n.Inputs.Any(IsBatch) && n.Outputs.Any(IsFixed));
        string where = culprit is null ? "" : $" ({culprit.OpType} '{culprit.Name}' turns the batch dimension into {shapes[culprit.Outputs.First(IsFixed)].Shape![0]})";
        return $"with a symbolic batch, output '{output.Name}' still has shape [{string.Join(", ", inferred[output.Name].Shape!)}]: a constant shape bakes the batch in{where}";
    }

    private static string UniqueSymbol(OnnxGraph graph)
    {
        var used = graph.Inputs.Concat(graph.Outputs).Concat(graph.ValueInfos)
            .SelectMany(v => v.Shape ?? []).Select(d => d.Symbol).Where(s => s is not null).ToHashSet(StringComparer.Ordinal);
        string symbol = "batch";
        for (int i = 2; used.Contains(symbol); i++)
            symbol = "batch" + i.ToString(CultureInfo.InvariantCulture);
        return symbol;
    }
}
