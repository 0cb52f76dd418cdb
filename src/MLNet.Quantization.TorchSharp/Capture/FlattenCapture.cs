using TorchSharp.Modules;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// <c>Flatten(start_dim, end_dim)</c>: ONNX <c>Flatten(axis=1)</c> for the usual (1, −1); otherwise a <c>Reshape</c>
/// whose target copies the batch (0), puts −1 for the merged dims and spells out the rest.
/// </summary>
internal static class FlattenCapture
{
    public static CapturedTensor Capture(CaptureScope scope, Flatten flatten, CapturedTensor x)
    {
        int rank = x.Rank;
        long start = flatten.start_dim < 0 ? flatten.start_dim + rank : flatten.start_dim;
        long end = flatten.end_dim < 0 ? flatten.end_dim + rank : flatten.end_dim;
        if (start < 0 || start >= rank || end < 0 || end >= rank || start > end)
            throw scope.Fail($"start_dim {flatten.start_dim} and end_dim {flatten.end_dim} do not select a dimension range of the input {x.Describe()}.");
        if (start == end)
            return x; // nothing to merge
        long merged = x.Shape[(int)start..((int)end + 1)].Aggregate(1L, (a, b) => a * b);
        long[] shape = [.. x.Shape[..(int)start], merged, .. x.Shape[((int)end + 1)..]];
        bool batchLeading = x.BatchLeading && start > 0;
        if (start == 1 && end == rank - 1)
            return scope.Builder.AddNode("Flatten", scope.NodeName(), [x.Name], shape, batchLeading, n => n.SetInt("axis", 1));

        long[] target = shape.Select((d, i) => i == start ? -1 : i == 0 ? 0 : d).ToArray();
        string targetName = scope.Builder.AddInt64(scope.ParameterName("shape"), target);
        return scope.Builder.AddNode("Reshape", scope.NodeName(), [x.Name, targetName], shape, batchLeading);
    }
}
