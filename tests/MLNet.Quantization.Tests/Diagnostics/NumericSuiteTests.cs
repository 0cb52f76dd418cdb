using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Flow;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

[TestClass]
public sealed class NumericSuiteTests
{
    private static readonly Lazy<(OnnxModel Float, PreparedModel Prepared, QuantizedModel Quantized)> Cnn = new(() =>
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_cnn"));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        prepared.Calibrate(FlowFixture.CalibrationBatches());
        return (model, prepared, prepared.Convert());
    });

    /// <summary>The first 256 test images in batches of 64.</summary>
    private static IEnumerable<IReadOnlyList<NamedTensor>> TestBatches() => TestData.Test.Batches("input", 64).Take(4);

    /// <summary>The same QDQ model without this library's metadata: what another tool's model looks like to the suite.</summary>
    private static OnnxModel WithoutMetadata(OnnxModel model)
    {
        var proto = model.Proto.Clone();
        proto.MetadataProps.Clear();
        return OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto));
    }

    [TestMethod]
    public void ConvertedModelRecordsItsFloatReference()
    {
        var metadata = Cnn.Value.Quantized.Model.MetadataProps;
        Assert.AreEqual("fold_constants=true;fold_batchnorm=true", metadata["mlnet_quantization.float_reference"]);
    }

    [TestMethod]
    public void MalformedFloatReferenceMetadataIsRejectedByName()
    {
        var proto = Cnn.Value.Quantized.Model.Proto.Clone();
        proto.MetadataProps.Single(p => p.Key == "mlnet_quantization.float_reference").Value = "fold_constants=maybe;fold_batchnorm=true";
        var bad = OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NumericSuite.CompareWeights(Cnn.Value.Float, bad));
        StringAssert.Contains(e.Message, "mlnet_quantization.float_reference");
        StringAssert.Contains(e.Message, "fold_constants");
    }

    [TestMethod]
    public void EveryQuantizationPointOfTheBatchNormCnnIsMatchedThroughTheFoldedGraph()
    {
        var (floatModel, prepared, quantized) = Cnn.Value;
        var saved = OnnxModel.Load(quantized.Model.ToBytes()); // as read back from a file
        var report = NumericSuite.Compare(floatModel, saved, TestBatches());

        Assert.IsEmpty(report.Unmatched, string.Join("; ", report.Unmatched));
        Assert.AreEqual(256, report.Samples);
        var qdq = OnnxGraph.FromModel(saved);
        var activationQuantizers = qdq.Nodes.Where(n => n.OpType == "QuantizeLinear" && !qdq.IsInitializer(n.Inputs[0])).ToList();
        Assert.HasCount(activationQuantizers.Count, report.Activations);
        Assert.HasCount(qdq.Nodes.Count(n => n.OpType == "DequantizeLinear" && qdq.IsInitializer(n.Inputs[0])), report.Weights);

        // c3's output name now carries the BN-folded value (the pre-BN value in the original float model): matched
        // against the prepared graph, it is close to the float value
        var c3 = report.Activations.Single(a => a.Tensor == "/c3/Conv_output_0");
        Assert.IsGreaterThan(20.0, c3.SqnrDb);
        Assert.IsTrue(report.Weights.Any(w => w.FloatName.EndsWith("_bn_folded", StringComparison.Ordinal) && w.Role == "weight"));
        Assert.IsTrue(report.Activations.All(a => a.SqnrDb > 20), string.Join("; ", report.Activations));
        Assert.IsTrue(report.Weights.All(w => w.SqnrDb > 30 && w.WorstChannelSqnrDb <= w.SqnrDb + 1e-9 || w.Role == "bias"), string.Join("; ", report.Weights));

        // one QuantizeLinear read by several DequantizeLinear (the DuplicateDQ rule) is one point with all its consumers
        var shared = activationQuantizers.First(q => qdq.GetConsumers(q.Outputs[0]).Count > 1);
        var point = report.Activations.Single(a => a.Tensor == shared.Inputs[0]);
        Assert.HasCount(qdq.GetConsumers(shared.Outputs[0]).Count, point.Consumers);

        // worst first, and the output is measured on the deployed (fused) model
        CollectionAssert.AreEqual(report.Activations.OrderBy(a => a.SqnrDb).ToList(), report.Activations.ToList());
        Assert.AreEqual("logits", report.Outputs.Single().Name);
        Assert.IsGreaterThan(20.0, report.OutputSqnrDb);
        Assert.IsGreaterThan(0.95, report.Top1Agreement!.Value);

        // the flow's own entry point (prepared graph in memory) gives the same figures as the rebuilt reference
        var direct = NumericSuite.Compare(prepared, quantized, TestBatches());
        CollectionAssert.AreEqual(report.Activations.Select(a => (a.Tensor, a.SqnrDb)).ToList(), direct.Activations.Select(a => (a.Tensor, a.SqnrDb)).ToList());
        Assert.AreEqual(report.OutputSqnrDb, direct.OutputSqnrDb, 1e-9);
    }

    [TestMethod]
    public void ForeignModelsAreMatchedByNameAndBatchNormRenamesAreReportedNotGuessed()
    {
        var (floatModel, prepared, quantized) = Cnn.Value;
        var foreign = WithoutMetadata(quantized.Model);

        // against the original float model (BN not folded) the BN-renamed tensors and weights are unmatched, with the reason
        var report = NumericSuite.Compare(floatModel, foreign, TestBatches());
        var bnOutputs = new[] { "/c1/Conv_output_0", "/c2/Conv_output_0", "/c3/Conv_output_0" };
        var unmatchedNames = report.Unmatched.Select(u => u.Name).ToList();
        Assert.IsTrue(report.Unmatched.Any(u => u.Reason.Contains("BatchNormalization", StringComparison.Ordinal)));
        Assert.IsFalse(report.Activations.Any(a => bnOutputs.Contains(a.Tensor)), "a pre-BN tensor must not be compared with a post-BN one");
        Assert.IsFalse(report.Weights.Any(w => w.FloatName.StartsWith('c') && w.OpType == "Conv"));
        Assert.IsTrue(unmatchedNames.Any(n => n.Contains("_bn_folded", StringComparison.Ordinal)));
        Assert.IsTrue(report.Activations.Any(a => a.Tensor == "/MaxPool_1_output_0"));

        // against the BN-folded float model saved as a file, name matching finds every point, with the same SQNR
        var folded = prepared.Graph.ToModel();
        var byName = NumericSuite.Compare(folded, foreign, TestBatches());
        var ours = NumericSuite.Compare(prepared, quantized, TestBatches());
        Assert.IsEmpty(byName.Unmatched, string.Join("; ", byName.Unmatched));
        CollectionAssert.AreEqual(ours.Activations.Select(a => (a.Tensor, Math.Round(a.SqnrDb, 6))).ToList(), byName.Activations.Select(a => (a.Tensor, Math.Round(a.SqnrDb, 6))).ToList());
    }

    [TestMethod]
    public void LinearsFlattenedForQGemmHaveTheirInputsComparedThroughTheReshape()
    {
        // an N-D linear is written as Q → Reshape (to 2-D) → DQ → Gemm so that ORT fuses QGemm; the suite looks through
        // the Reshape of the int8 tensor, and a Gemm reading a flattened tensor stands for the float model's MatMul
        var quantized = FlowFixture.Quantized("fmnist_rowtf", dynamic: false);
        var graph = OnnxGraph.FromModel(quantized.Model);
        var flattening = graph.Nodes.Where(n => n.OpType == "Reshape" && graph.GetProducer(n.Inputs[0])?.OpType == "QuantizeLinear").ToList();
        Assert.IsGreaterThanOrEqualTo(10, flattening.Count, "the 13 linears read 10 distinct activations through such a Reshape");

        var report = NumericSuite.Compare(OnnxModel.Load(TestPaths.Model("fmnist_rowtf")), WithoutMetadata(quantized.Model), TestBatches());
        Assert.IsFalse(report.Unmatched.Any(u => u.Reason.Contains("consumers differ", StringComparison.Ordinal)), string.Join("; ", report.Unmatched));
        foreach (var reshape in flattening)
        {
            string tensor = graph.GetProducer(reshape.Inputs[0])!.Inputs[0];
            var point = report.Activations.SingleOrDefault(a => a.Tensor == tensor);
            Assert.IsNotNull(point, $"'{tensor}' is compared");
            Assert.IsTrue(point.Consumers.All(c => c.EndsWith("_gemm", StringComparison.Ordinal)), string.Join(", ", point.Consumers));
            Assert.IsGreaterThan(25.0, point.SqnrDb, $"'{tensor}': the flattened int8 values line up with the float ones");
        }
    }

    [TestMethod]
    public void DynamicModelsCompareTheirDynamicQuantizeMatMulWeights()
    {
        var quantized = FlowFixture.Quantized("fmnist_rowtf", dynamic: true);
        var report = NumericSuite.CompareWeights(OnnxModel.Load(TestPaths.Model("fmnist_rowtf")), quantized.Model);
        Assert.IsEmpty(report.Unmatched, string.Join("; ", report.Unmatched));
        Assert.HasCount(14, report.Weights); // 13 MatMul weights (DequantizeLinear) and the head Gemm (DynamicQuantizeMatMul)
        var head = report.Weights.Single(w => w.OpType == "DynamicQuantizeMatMul");
        Assert.IsTrue(head.PerChannel);
        Assert.IsGreaterThan(30.0, head.SqnrDb);
        Assert.IsTrue(report.Weights.All(w => w.SqnrDb > 30), string.Join("; ", report.Weights));

        // activations quantized at run time (DynamicQuantizeLinear → DequantizeLinear) are points too
        var full = NumericSuite.Compare(OnnxModel.Load(TestPaths.Model("fmnist_rowtf")), quantized.Model, TestBatches().Take(2));
        Assert.IsEmpty(full.Unmatched, string.Join("; ", full.Unmatched));
        Assert.HasCount(OnnxGraph.FromModel(quantized.Model).Nodes.Count(n => n.OpType == "DynamicQuantizeLinear"), full.Activations);
        Assert.IsTrue(full.Activations.All(a => a.SqnrDb > 25), string.Join("; ", full.Activations));
        Assert.IsGreaterThan(0.95, full.Top1Agreement!.Value);
    }
}
