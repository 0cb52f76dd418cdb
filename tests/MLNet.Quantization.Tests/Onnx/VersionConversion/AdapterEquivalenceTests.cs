using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;
using DataType = MLNet.Quantization.Onnx.Proto.TensorProto.Types.DataType;

namespace MLNet.Quantization.Tests.Onnx.VersionConversion;

/// <summary>
/// Each adapter on a one-op model at its old opset: converted, both forms run in ONNX Runtime on seeded random input,
/// outputs equal, and onnx.checker accepts the converted form.
/// </summary>
[TestClass]
public sealed class AdapterEquivalenceTests
{
    private static readonly float[] Stats = [0.5f, -1f, 2f];
    private static readonly float[] Vars = [1f, 0.25f, 4f];

    internal static ModelProto Case(string name, long opset) => name switch
    {
        "BatchNormalization" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4, 5).Output("y")
            .Floats("s", [3], Stats).Floats("b", [3], Vars).Floats("m", [3], Vars).Floats("v", [3], Vars)
            .Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], ("spatial", 1L), ("epsilon", 1e-5f)).Build(),
        "BatchNormalizationSpatial0PerChannel" => new OpsetModelBuilder(opset).Input("x", 4, 3).Output("y")
            .Floats("s", [3], Stats).Floats("b", [3], Vars).Floats("m", [3], Vars).Floats("v", [3], Vars)
            .Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], ("spatial", 0L)).Build(),
        "Clip" => new OpsetModelBuilder(opset).Input("x", 2, 8).Output("y")
            .Node("Clip", ["x"], ["y"], ("min", -1f), ("max", 1.5f)).Build(),
        "ClipMaxOnly" => new OpsetModelBuilder(opset).Input("x", 2, 8).Output("y").Node("Clip", ["x"], ["y"], ("max", 0.5f)).Build(),
        "ClipNoBounds" => new OpsetModelBuilder(opset).Input("x", 2, 8).Output("y").Node("Clip", ["x"], ["y"]).Build(),
        "Pad" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y")
            .Node("Pad", ["x"], ["y"], ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }), ("value", 1.5f)).Build(),
        "PadReflect" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y")
            .Node("Pad", ["x"], ["y"], ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }), ("mode", "reflect")).Build(),
        "UpsampleNearest" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y")
            .Node("Upsample", ["x"], ["y"], ("scales", new[] { 1f, 1f, 2f, 3f })).Build(),
        "UpsampleLinear" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y")
            .Node("Upsample", ["x"], ["y"], ("mode", "linear"), ("scales", new[] { 1f, 1f, 2f, 2f })).Build(),
        "UpsampleScalesInput" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y").Floats("sc", [4], 1f, 1f, 2f, 2f)
            .Node("Upsample", ["x", "sc"], ["y"]).Build(),
        "ResizeNearest" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y").Floats("sc", [4], 1f, 1f, 2.5f, 1.5f)
            .Node("Resize", ["x", "sc"], ["y"]).Build(),
        "ResizeLinear" => new OpsetModelBuilder(opset).Input("x", 1, 2, 3, 4).Output("y").Floats("sc", [4], 1f, 1f, 0.5f, 2f)
            .Node("Resize", ["x", "sc"], ["y"], ("mode", "linear")).Build(),
        "Slice" => new OpsetModelBuilder(opset).Input("x", 3, 5, 6).Output("y")
            .Node("Slice", ["x"], ["y"], ("starts", new long[] { 1, -4 }), ("ends", new long[] { 3, long.MaxValue }), ("axes", new long[] { 0, 2 })).Build(),
        "SliceNoAxes" => new OpsetModelBuilder(opset).Input("x", 3, 5).Output("y")
            .Node("Slice", ["x"], ["y"], ("starts", new long[] { 1, 0 }), ("ends", new long[] { 2, 4 })).Build(),
        "Squeeze" => new OpsetModelBuilder(opset).Input("x", 1, 3, 1, 4).Output("y").Node("Squeeze", ["x"], ["y"], ("axes", new long[] { 2 })).Build(),
        "SqueezeAll" => new OpsetModelBuilder(opset).Input("x", 1, 3, 1, 4).Output("y").Node("Squeeze", ["x"], ["y"]).Build(),
        "Unsqueeze" => new OpsetModelBuilder(opset).Input("x", 3, 4).Output("y").Node("Unsqueeze", ["x"], ["y"], ("axes", new long[] { 0, 3 })).Build(),
        "ReduceSum" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("ReduceSum", ["x"], ["y"], ("axes", new long[] { 1 }), ("keepdims", 0L)).Build(),
        "ReduceMean" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("ReduceMean", ["x"], ["y"], ("axes", new long[] { 0, 2 })).Build(),
        "ReduceMaxAll" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("ReduceMax", ["x"], ["y"], ("keepdims", 0L)).Build(),
        "Split" => new OpsetModelBuilder(opset).Input("x", 2, 6).Output("a").Output("b")
            .Node("Split", ["x"], ["a", "b"], ("axis", 1L), ("split", new long[] { 2, 4 })).Build(),
        "SplitEqual" => new OpsetModelBuilder(opset).Input("x", 2, 6).Output("a").Output("b").Output("c")
            .Node("Split", ["x"], ["a", "b", "c"], ("axis", 1L)).Build(),
        "SoftmaxMiddleAxis" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("Softmax", ["x"], ["y"], ("axis", 1L)).Build(),
        "SoftmaxDefaultAxis" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("Softmax", ["x"], ["y"]).Build(),
        "SoftmaxLastAxis" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("Softmax", ["x"], ["y"], ("axis", 2L)).Build(),
        "LogSoftmax" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("LogSoftmax", ["x"], ["y"], ("axis", 1L)).Build(),
        "Hardmax" => new OpsetModelBuilder(opset).Input("x", 2, 3, 4).Output("y").Node("Hardmax", ["x"], ["y"], ("axis", 0L)).Build(),
        "TopK" => new OpsetModelBuilder(opset).Input("x", 3, 7).Output("v").Output("i", DataType.Int64)
            .Node("TopK", ["x"], ["v", "i"], ("k", 3L)).Build(),
        "Dropout" => new OpsetModelBuilder(opset).Input("x", 3, 7).Output("y").Node("Dropout", ["x"], ["y", "mask"], ("ratio", 0.3f)).Build(),
        "Scatter" => new OpsetModelBuilder(opset).Input("x", 3, 4).Input("u", 2, 4).Output("y").Int64s("idx", [2, 4], 0, 1, 2, 0, 2, 0, 1, 1)
            .Node("Scatter", ["x", "idx", "u"], ["y"], ("axis", 0L)).Build(),
        _ => throw new ArgumentException($"No case '{name}'.", nameof(name)),
    };

    [TestMethod]
    [DataRow("BatchNormalization", 7, 13)]
    [DataRow("BatchNormalization", 8, 15)]
    [DataRow("BatchNormalizationSpatial0PerChannel", 7, 13)]
    [DataRow("Clip", 7, 13)]
    [DataRow("ClipMaxOnly", 9, 13)]
    [DataRow("ClipNoBounds", 10, 12)]
    [DataRow("Pad", 7, 13)]
    [DataRow("PadReflect", 10, 19)]
    [DataRow("UpsampleNearest", 7, 13)]
    [DataRow("UpsampleLinear", 8, 13)]
    [DataRow("UpsampleScalesInput", 9, 11)]
    [DataRow("ResizeNearest", 10, 13)]
    [DataRow("ResizeLinear", 10, 13)]
    [DataRow("Slice", 7, 13)]
    [DataRow("SliceNoAxes", 9, 10)]
    [DataRow("Squeeze", 7, 13)]
    [DataRow("SqueezeAll", 11, 21)]
    [DataRow("Unsqueeze", 8, 13)]
    [DataRow("ReduceSum", 7, 13)]
    [DataRow("ReduceMean", 7, 18)]
    [DataRow("ReduceMaxAll", 11, 20)]
    [DataRow("Split", 7, 13)]
    [DataRow("Split", 11, 18)]
    [DataRow("SplitEqual", 8, 18)]
    [DataRow("SoftmaxMiddleAxis", 7, 13)]
    [DataRow("SoftmaxDefaultAxis", 11, 13)]
    [DataRow("SoftmaxLastAxis", 9, 13)]
    [DataRow("LogSoftmax", 7, 13)]
    [DataRow("Hardmax", 11, 13)]
    [DataRow("TopK", 7, 13)]
    [DataRow("Dropout", 7, 13)]
    [DataRow("Scatter", 9, 13)]
    public void ConvertedModelComputesTheSameOutputs(string name, int from, int to)
    {
        var converted = ConversionEquivalence.AssertEquivalent(Case(name, from), to);
        var graph = OnnxGraph.FromModel(converted);
        foreach (var node in graph.Nodes)
        {
            // the attributes that became inputs or were removed are gone
            foreach (var attr in new[] { "spatial", "pads", "value", "scales", "starts", "ends", "k", "ratio", "min", "max" })
                Assert.IsFalse(node.HasAttribute(attr), $"{node} still has '{attr}'");
        }

        Assert.IsFalse(graph.Nodes.Any(n => n.OpType is "Upsample" or "Scatter"), "deprecated ops are replaced");
        if (to >= 13)
            Assert.IsGreaterThanOrEqualTo(7L, converted.IrVersion, "opset 13 came with IR 7");
    }

    [TestMethod]
    public void SoftmaxOnTheLastAxisIsKeptAsOneNode()
    {
        var graph = OnnxGraph.FromModel(ConversionEquivalence.AssertEquivalent(Case("SoftmaxLastAxis", 9), 13));
        Assert.AreEqual("Softmax", graph.Nodes.Single().OpType);
        Assert.AreEqual(2L, graph.Nodes.Single().GetInt("axis", -1));
    }

    [TestMethod]
    public void SoftmaxOnAMiddleAxisKeepsTheCoercedMeaningThroughFlattenAndReshape()
    {
        var graph = OnnxGraph.FromModel(ConversionEquivalence.AssertEquivalent(Case("SoftmaxMiddleAxis", 7), 13));
        CollectionAssert.AreEquivalent(new[] { "Shape", "Flatten", "Softmax", "Reshape" }, graph.Nodes.Select(n => n.OpType).ToArray());
        Assert.AreEqual("y", graph.Nodes.Single(n => n.OpType == "Reshape").Outputs[0]);
    }

    [TestMethod]
    public void ResizeFromOpset10SpellsOutTheAsymmetricFloorMapping()
    {
        var node = OnnxGraph.FromModel(ConversionEquivalence.AssertEquivalent(Case("ResizeNearest", 10), 13)).Nodes.Single();
        Assert.AreEqual("asymmetric", node.GetString("coordinate_transformation_mode", ""));
        Assert.AreEqual("floor", node.GetString("nearest_mode", ""));
        Assert.HasCount(3, node.Inputs, "X, roi, scales");
    }

    [TestMethod]
    public void ClipBoundsBecomeScalarInputsOfTheDataType()
    {
        var converted = OnnxGraph.FromModel(ConversionEquivalence.AssertEquivalent(Case("ClipMaxOnly", 9), 13));
        var clip = converted.Nodes.Single();
        Assert.AreEqual("", clip.Inputs[1], "absent min stays an absent input");
        Assert.IsTrue(converted.TryGetConstant(clip.Inputs[2], out var max));
        Assert.AreEqual(TensorElementType.Float, max.ElementType);
        Assert.IsEmpty(max.Dims);
        Assert.AreEqual(0.5f, max.ToFloatArray()[0]);
    }
}
