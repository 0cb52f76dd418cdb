using Google.Protobuf;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.VersionConversion;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;
using ProtoTypes = MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx.VersionConversion;

/// <summary>The converter as a whole: refusals, chains, other domains, the input left alone, the real mnist-8, prepare.</summary>
[TestClass]
public sealed class ConverterBehaviourTests
{
    private static readonly string Mnist8 = Path.Combine(AppContext.BaseDirectory, "TestData", "mnist", "mnist-8.onnx");

    // an opset-7 model touching several adapters: Pad, Clip, Softmax on a middle axis, ReduceMean, Squeeze
    private static ProtoTypes.ModelProto MultiOp(long opset) => new OpsetModelBuilder(opset).Input("x", 2, 3, 4, 5).Output("y")
        .Node("Pad", ["x"], ["p"], ("pads", new long[] { 0, 0, 1, 1, 0, 0, 1, 1 }))
        .Node("Clip", ["p"], ["c"], ("min", -2f), ("max", 2f))
        .Node("Softmax", ["c"], ["s"], ("axis", 2L))
        .Node("ReduceMean", ["s"], ["r"], ("axes", new long[] { 1 }))
        .Node("Squeeze", ["r"], ["y"], ("axes", new long[] { 1 }))
        .Build();

    [TestMethod]
    public void AChainOfConversionsEqualsTheDirectOne()
    {
        var original = MultiOp(7);
        var at13 = ConversionEquivalence.AssertEquivalent(original, 13);
        var at17 = OnnxOpsetConverter.Convert(at13, 17);
        var direct = OnnxOpsetConverter.Convert(OnnxModel.Load(original.ToByteArray()), 17);
        Assert.AreEqual(17L, at17.OpsetImports[""]);
        ConversionEquivalence.AssertSameOutputs(original.ToByteArray(), at17.ToBytes(), seed: 3, relativeTolerance: 1e-6);
        ConversionEquivalence.AssertSameOutputs(direct.ToBytes(), at17.ToBytes(), seed: 4, relativeTolerance: 0);
        ConversionEquivalence.AssertCheckerAccepts(at17.ToBytes());
        var beyond = OnnxOpsetConverter.Convert(at17, 21);
        ConversionEquivalence.AssertSameOutputs(original.ToByteArray(), beyond.ToBytes(), seed: 5, relativeTolerance: 1e-6);
        Assert.IsTrue(OnnxGraph.FromModel(beyond).Nodes.Single(n => n.OpType == "ReduceMean").Inputs.Count == 2, "axes became an input at 18");
    }

    [TestMethod]
    public void TheUsersModelAndFileAreUnchanged()
    {
        string dir = TestSupport.TestPaths.NewTempDirectory();
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            File.WriteAllBytes(path, MultiOp(8).ToByteArray());
            byte[] fileBefore = File.ReadAllBytes(path);
            var model = OnnxModel.Load(path);
            byte[] before = model.ToBytes();
            var converted = OnnxOpsetConverter.Convert(model, 13);
            CollectionAssert.AreEqual(before, model.ToBytes());
            CollectionAssert.AreEqual(fileBefore, File.ReadAllBytes(path));
            Assert.AreEqual(8L, model.OpsetImports[""]);
            Assert.AreEqual(13L, converted.OpsetImports[""]);
            Assert.AreNotSame(model, OnnxOpsetConverter.Convert(model, 8), "already at the target: a copy");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void AnUnknownDefaultDomainOpIsRefusedNamingNodeOpAndOpsets()
    {
        var model = new OpsetModelBuilder(8).Input("x", 2, 3).Output("y").Node("FancyNewOp", ["x"], ["y"]).Build();
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), 13));
        StringAssert.Contains(error.Message, "'fancynewop_0' (FancyNewOp)");
        StringAssert.Contains(error.Message, "from ONNX opset 8 to 13");
        Assert.AreEqual("FancyNewOp", error.OpType);
        Assert.AreEqual("fancynewop_0", error.NodeName);
        Assert.AreEqual(8L, error.SourceOpset);
        Assert.AreEqual(13L, error.TargetOpset);
    }

    [TestMethod]
    public void AReadDropoutMaskIsRefusedBecauseItsTypeChanges()
    {
        var model = new OpsetModelBuilder(7).Input("x", 2, 3).Output("y").Output("mask")
            .Node("Dropout", ["x"], ["y", "mask"]).Build();
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), 13));
        StringAssert.Contains(error.Message, "(Dropout)");
        StringAssert.Contains(error.Message, "opset-10 step");
        StringAssert.Contains(error.Message, "'mask'");
    }

    [TestMethod]
    public void ANodeWithASubgraphIsRefused()
    {
        var body = new ProtoTypes.GraphProto { Name = "then" };
        body.Node.Add(new ProtoTypes.NodeProto { OpType = "Identity", Input = { "x" }, Output = { "t" } });
        body.Output.Add(new ProtoTypes.ValueInfoProto { Name = "t" });
        var model = new OpsetModelBuilder(9).Input("x", 1).Output("y").Node("Greater", ["x", "x"], ["c"]).Build();
        var ifNode = new ProtoTypes.NodeProto { OpType = "If", Name = "branch", Input = { "c" }, Output = { "y" } };
        ifNode.Attribute.Add(new ProtoTypes.AttributeProto { Name = "then_branch", Type = ProtoTypes.AttributeProto.Types.AttributeType.Graph, G = body });
        ifNode.Attribute.Add(new ProtoTypes.AttributeProto { Name = "else_branch", Type = ProtoTypes.AttributeProto.Types.AttributeType.Graph, G = body.Clone() });
        model.Graph.Node.Add(ifNode);
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), 13));
        StringAssert.Contains(error.Message, "'branch' (If)");
        StringAssert.Contains(error.Message, "subgraphs");
    }

    [TestMethod]
    public void PerActivationBatchNormIsRefused()
    {
        var model = new OpsetModelBuilder(7).Input("x", 2, 3, 4).Output("y")
            .Floats("s", [3, 4], new float[12]).Floats("b", [3, 4], new float[12]).Floats("m", [3, 4], new float[12]).Floats("v", [3, 4], Enumerable.Repeat(1f, 12).ToArray())
            .Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], ("spatial", 0L)).Build();
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), 13));
        StringAssert.Contains(error.Message, "spatial=0");
        StringAssert.Contains(error.Message, "opset-9 step");
    }

    [TestMethod]
    public void NearestDownsamplingFromOpset10IsRefused()
    {
        var model = new OpsetModelBuilder(10).Input("x", 1, 1, 4, 4).Output("y").Floats("sc", [4], 1f, 1f, 0.5f, 0.5f)
            .Node("Resize", ["x", "sc"], ["y"]).Build();
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), 13));
        StringAssert.Contains(error.Message, "(Resize)");
        StringAssert.Contains(error.Message, "downsampling");
    }

    [TestMethod]
    [DataRow(6, 13)]
    [DataRow(13, 8)]
    [DataRow(13, 23)]
    public void OpsetsOutsideTheRangeAreRefused(int from, int to)
    {
        var model = new OpsetModelBuilder(from, irVersion: 7).Input("x", 2, 3).Output("y").Node("Relu", ["x"], ["y"]).Build();
        var error = Assert.ThrowsExactly<OpsetConversionException>(() => OnnxOpsetConverter.Convert(OnnxModel.Load(model.ToByteArray()), to));
        StringAssert.Contains(error.Message, $"from ONNX opset {from} to {to}");
        Assert.IsNull(error.NodeName);
    }

    [TestMethod]
    public void OtherDomainsAreLeftUntouched()
    {
        var model = new OpsetModelBuilder(9).Input("x", 2, 8).Output("y")
            .Node("Clip", ["x"], ["c"], ("min", -1f), ("max", 1f))
            .DomainNode("com.microsoft", "Gelu", ["c"], ["y"])
            .Build(("com.microsoft", 1));
        var converted = ConversionEquivalence.AssertEquivalent(model, 13);
        var gelu = OnnxGraph.FromModel(converted).Nodes.Single(n => n.OpType == "Gelu");
        Assert.AreEqual("com.microsoft", gelu.Domain);
        CollectionAssert.AreEqual(new[] { "c" }, gelu.Inputs.ToArray());
        Assert.AreEqual(1L, converted.OpsetImports["com.microsoft"]);
    }

    [TestMethod]
    public void EveryAdapterMatchesASchemaChange()
    {
        foreach (var adapter in AdapterRegistry.All)
            Assert.IsTrue(OperatorHistory.ChangesAt(adapter.OpType, adapter.Opset), $"{adapter.OpType} has no schema change at {adapter.Opset}");
        Assert.IsFalse(OperatorHistory.IsKnown("Upsample") && OperatorHistory.ChangesAt("Upsample", 11));
    }

    [TestMethod]
    [DataRow(13)]
    [DataRow(17)]
    [DataRow(22)]
    public void ZooMnist8ConvertsWithEqualOutputs(int target)
    {
        var model = OnnxModel.Load(Mnist8);
        var converted = OnnxOpsetConverter.Convert(model, target);
        ConversionEquivalence.AssertSameOutputs(model.ToBytes(), converted.ToBytes(), seed: target, relativeTolerance: 1e-6);
        if (target <= ConversionEquivalence.CheckerMaxOpset)
            ConversionEquivalence.AssertCheckerAccepts(converted.ToBytes());
    }

    [TestMethod]
    public void PrepareConvertsAnOpset9ModelWithAttributeClipAndSoftmax()
    {
        var model = new OpsetModelBuilder(9).Input("x", 1, 8).Output("y").Floats("w", [8, 4], Enumerable.Range(0, 32).Select(i => (i % 7 - 3) / 4f).ToArray())
            .Node("MatMul", ["x", "w"], ["m"])
            .Node("Clip", ["m"], ["c"], ("min", 0f), ("max", 6f))
            .Node("Softmax", ["c"], ["y"]).Build();
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(model.ToByteArray()), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        Assert.AreEqual(13L, prepared.Graph.GetOpsetVersion());
        Assert.HasCount(3, prepared.Graph.Nodes.Single(n => n.OpType == "Clip").Inputs);
    }

    [TestMethod]
    public void TheNumericSuiteComparesAQuantizedOldModelAgainstItsConvertedFloatGraph()
    {
        // mnist-8 (opset 8): the float reference is rebuilt through the same conversion, so every name matches
        var data = FashionMnist.Load(Path.GetDirectoryName(Mnist8)!, train: false, normalize: false);
        var model = OnnxModel.Load(Mnist8);
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        IReadOnlyList<NamedTensor> Batch(int i) => [NamedTensor.FromFloats("Input3", data.Image(i).ToArray(), 1, 1, 28, 28)];
        prepared.Calibrate(Enumerable.Range(0, 50).Select(Batch));
        var quantized = prepared.Convert();
        var report = NumericSuite.Compare(model, quantized.Model, Enumerable.Range(50, 20).Select(Batch));
        Assert.IsEmpty(report.Unmatched, string.Join("; ", report.Unmatched));
        Assert.IsNotEmpty(report.Activations);
        Assert.IsGreaterThan(20.0, report.OutputSqnrDb, report.ToString());
    }

    [TestMethod]
    public void PrepareReportsAnInvalidOldModelAsTheModelsFault()
    {
        // Relu with an attribute opset 8 does not define: ORT rejects the model as given, before any conversion
        var model = new OpsetModelBuilder(8).Input("x", 1, 4).Output("y").Node("Relu", ["x"], ["y"]).Build();
        model.Graph.Node[0].Attribute.Add(new ProtoTypes.AttributeProto { Name = "bogus", Type = ProtoTypes.AttributeProto.Types.AttributeType.Int, I = 1 });
        var error = Assert.ThrowsExactly<OnnxGraphException>(() =>
            QuantizationFlow.Prepare(OnnxModel.Load(model.ToByteArray(), "bad.onnx"), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig())));
        StringAssert.Contains(error.Message, "check it before quantizing");
        Assert.DoesNotContain("opset conversion", error.Message);
    }

    [TestMethod]
    public void ARejectionAfterConversionIsReportedAsTheConvertersFault()
    {
        // a graph that ORT rejects stands in for a faulty conversion result
        var model = new OpsetModelBuilder(13, irVersion: 7).Input("x", 1, 4).Output("y").Node("Relu", ["x"], ["y"]).Build();
        model.Graph.Node[0].Attribute.Add(new ProtoTypes.AttributeProto { Name = "spatial", Type = ProtoTypes.AttributeProto.Types.AttributeType.Int, I = 1 });
        var graph = OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray(), "m.onnx"));
        var error = Assert.ThrowsExactly<OnnxGraphException>(() => OrtBoundary.CheckLoadsAfterConversion(graph, 8, 13));
        StringAssert.Contains(error.Message, "after MLNet.Quantization's opset conversion from 8 to 13");
        StringAssert.Contains(error.Message, "spatial");
    }
}
