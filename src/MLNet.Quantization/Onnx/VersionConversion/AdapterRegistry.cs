using MLNet.Quantization.Onnx.VersionConversion.Adapters;

namespace MLNet.Quantization.Onnx.VersionConversion;

/// <summary>
/// The adapters, keyed by operator and the opset whose schema they convert to. Every schema change in
/// <see cref="OperatorHistory"/> without an entry here is a compatible version bump (see there); subgraph operators
/// (If, Loop, Scan, SequenceMap) are refused by the converter itself, since their bodies would need converting too.
/// </summary>
internal static class AdapterRegistry
{
    private static readonly string[] ReduceOpsAt18 =
        ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"];

    private static readonly Dictionary<(string OpType, int Opset), OpsetAdapter> Adapters = Build();

    /// <summary>The adapter converting <paramref name="opType"/> to its schema at <paramref name="opset"/>, if one is needed.</summary>
    public static OpsetAdapter? Find(string opType, int opset) => Adapters.GetValueOrDefault((opType, opset));

    /// <summary>All adapters (for checks that each matches a schema change).</summary>
    public static IEnumerable<OpsetAdapter> All => Adapters.Values;

    private static Dictionary<(string, int), OpsetAdapter> Build()
    {
        OpsetAdapter[] adapters =
        [
            new BatchNormalizationSpatialAdapter(),
            new BatchNormalizationTrainingOutputsAdapter(),
            new ClipAdapter(),
            new PadAdapter(),
            new SliceAdapter(),
            new DropoutMaskAdapter(),
            new DropoutRatioAdapter(),
            new UpsampleScalesAdapter(),
            new UpsampleToResizeAdapter(),
            new ResizeCoordinateModeAdapter(),
            new ResizeHalfPixelForNearestAdapter(),
            new AttributeToInputAdapter("TopK", 10, "k", 1, required: true, scalarAsList: true),
            new AttributeToInputAdapter("Squeeze", 13, "axes", 1),
            new AttributeToInputAdapter("Unsqueeze", 13, "axes", 1, required: true),
            new AttributeToInputAdapter("ReduceSum", 13, "axes", 1),
            new AttributeToInputAdapter("Split", 13, "split", 1),
            new SplitNumOutputsAdapter(),
            new SoftmaxAxisAdapter("Softmax"),
            new SoftmaxAxisAdapter("LogSoftmax"),
            new SoftmaxAxisAdapter("Hardmax"),
            new RenameAdapter("Scatter", 11, "ScatterElements"),
            new StringAttributeAdapter("RoiAlign", 16, "coordinate_transformation_mode", "output_half_pixel", new Dictionary<string, string>()),
            new StringAttributeAdapter("GridSample", 20, "mode", null, new Dictionary<string, string> { ["bilinear"] = "linear", ["bicubic"] = "cubic" }),
            new RefusalAdapter("DFT", 20, "the 'axis' attribute became an input with other defaults; not converted"),
            new RefusalAdapter("GroupNormalization", 21, "scale and bias changed from per-group to per-channel; not converted"),
            .. ReduceOpsAt18.Select(op => new AttributeToInputAdapter(op, 18, "axes", 1)),
        ];
        return adapters.ToDictionary(a => (a.OpType, a.Opset));
    }
}
