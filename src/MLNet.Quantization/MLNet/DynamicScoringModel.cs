using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>
/// Chooses the model and rows per run with which <see cref="QuantizedModelTransformer"/> scores a model that quantizes
/// activations at run time, following <see cref="DynamicRangeScope"/>.
/// </summary>
internal static class DynamicScoringModel
{
    /// <summary>Whether the model computes activation qparams at run time, so its results could depend on the batch.</summary>
    public static bool HasRunTimeRanges(OnnxModel model) =>
        model.Proto.Graph.Node.Any(n => n.OpType is "DynamicQuantizeLinear" or "DynamicQuantizeMatMul");

    /// <summary>
    /// The model to score and its rows per run: <paramref name="qdq"/> at <paramref name="batch"/> rows for
    /// <see cref="DynamicRangeScope.PerBatch"/>; <paramref name="qdq"/> at one row per run for
    /// <see cref="DynamicRangeScope.SingleRow"/>; for <see cref="DynamicRangeScope.PerRow"/> the per-row rewrite, checked
    /// in ORT to give each of three random rows the same outputs alone and together, or else <paramref name="qdq"/> at one row per run.
    /// </summary>
    public static (OnnxModel Model, int Batch) Choose(OnnxModel qdq, DynamicRangeScope scope, int batch, CancellationToken cancellationToken)
    {
        if (scope == DynamicRangeScope.PerBatch || !HasRunTimeRanges(qdq))
            return (qdq, batch);
        if (scope == DynamicRangeScope.SingleRow)
            return (qdq, 1);
        if (batch == 1 || PerRowDynamicGraph.TryRewrite(qdq) is not { } perRow || !RowsAreIndependent(perRow, cancellationToken))
            return (qdq, 1);
        return (perRow, batch);
    }

    private static bool RowsAreIndependent(OnnxModel model, CancellationToken cancellationToken)
    {
        var graph = OnnxGraph.FromModel(model);
        var single = graph.Clone();
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (input.Shape is not { Count: > 0 } shape || shape.Skip(1).Any(d => d.Value is null) || shape[0].Value is not null)
                return false;
            shapes[input.Name] = [1, .. shape.Skip(1).Select(d => checked((int)d.Value!.Value))];
        }

        Shapes.InputShapeOverrides.Apply(single, shapes);
        var result = Shapes.BatchEquivalenceCheck.Verify(single, graph, fixedBatch: 1, cancellationToken);
        return result.Failure is null && result.MaxDifference <= RowTolerance;
    }

    /// <summary>
    /// The largest difference, relative to max(1, the output's magnitude), allowed between a row scored alone and in a
    /// batch. Integer products are exact, but ORT's float kernels (attention, normalisation) round differently at
    /// different batch sizes, by about 1e-7 (measured on fmnist_rowtf's float model); a range taken over the batch
    /// changes outputs by about a quantization step, 1e-3 or more.
    /// </summary>
    public const double RowTolerance = 1e-5;
}
