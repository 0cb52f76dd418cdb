using Google.Protobuf;
using Microsoft.ML;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// A model that already holds a quantized operator (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinear*,
/// MatMulInteger, ConvInteger, ...) is refused by <see cref="QuantizationFlow.Prepare"/>, naming what it found; fed
/// in again, a QDQ model would otherwise get a second layer of Q/DQ pairs (8 DequantizeLinear became 23).
/// </summary>
[TestClass]
public sealed class AlreadyQuantizedTests
{
    private static X86Quantizer Quantizer(bool dynamic) => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic));

    private static OnnxModel QuantizeOnce(string name, bool dynamic)
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(name)), Quantizer(dynamic));
        if (prepared.NeedsCalibration)
            prepared.Calibrate([FuzzHarness.RandomBatch(prepared.Graph)]);
        return OnnxModel.Load(prepared.Convert().Model.ToBytes(), name + ".int8.onnx");
    }

    [TestMethod]
    [DataRow("fmnist_cnn", false)]
    [DataRow("fmnist_rowtf", true)]
    public void AQuantizedModelFedInAgainIsRefusedWithItsQuantizedNodeCounts(string name, bool dynamic)
    {
        var quantized = QuantizeOnce(name, dynamic);
        string[] quantizedOps = ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"];
        var counts = quantized.Proto.Graph.Node.Where(n => quantizedOps.Contains(n.OpType)).GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.IsNotEmpty(counts);
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => QuantizationFlow.Prepare(quantized, Quantizer(dynamic)));
        StringAssert.Contains(e.Message, name + ".int8.onnx");
        StringAssert.Contains(e.Message, "already quantized");
        StringAssert.Contains(e.Message, "give the float model");
        foreach (var (op, count) in counts)
            StringAssert.Contains(e.Message, $"{count} {op}");
    }

    [TestMethod]
    public void OneDequantizeLinearOfACompressedWeightIsRefusedToo()
    {
        // the documented rule: any quantized operator, however few; W = DequantizeLinear(int8 W_q, scale)
        var model = TinyModels.MatMul(new float[16], 4, 4);
        var graph = model.Graph;
        graph.Initializer.Clear();
        var wq = new TensorProto { Name = "W_q", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(new byte[16]) };
        wq.Dims.AddRange([4, 4]);
        graph.Initializer.Add(wq);
        graph.Initializer.Add(TinyModels.FloatTensor("W_scale", [], [0.1f]));
        var dq = new NodeProto { Name = "dq_w", OpType = "DequantizeLinear" };
        dq.Input.AddRange(["W_q", "W_scale"]);
        dq.Output.Add("W");
        graph.Node.Insert(0, dq);
        var loaded = OnnxModel.Load(model.ToByteArray(), "compressed.onnx");
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => QuantizationFlow.Prepare(loaded, Quantizer(dynamic: true)));
        StringAssert.Contains(e.Message, "1 DequantizeLinear");
    }

    [TestMethod]
    [DataRow("QLinearConv")]
    [DataRow("MatMulInteger")]
    [DataRow("ConvInteger")]
    [DataRow("DynamicQuantizeLinear")]
    [DataRow("QLinearMatMul")]
    public void QOperatorAndIntegerOpsAreCountedByType(string opType)
    {
        var model = TinyModels.MatMul(new float[16], 4, 4);
        model.Graph.Node[0].OpType = opType; // the census reads op types only; the refusal comes before any check of the op's inputs
        var census = ModelCensus.Of(model);
        Assert.AreEqual(1, census.QuantizedOpCount);
        Assert.AreEqual(1, census.QuantizedOps[opType]);
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => ModelAdmission.CheckNotQuantized(new OnnxModel(model, "q.onnx", null), census));
        StringAssert.Contains(e.Message, $"1 {opType}");
    }

    [TestMethod]
    public void AFloatModelHasNoQuantizedOps()
    {
        foreach (var name in TestPaths.SharedModels)
            Assert.AreEqual(0, ModelCensus.Of(OnnxModel.Load(TestPaths.Model(name)).Proto).QuantizedOpCount, name);
    }

    [TestMethod]
    public void TheMlNetEstimatorRefusesItDuringFit()
    {
        var quantized = QuantizeOnce("fmnist_cnn", dynamic: false);
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new Pixels() });
        var estimator = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = quantized.ToBytes(), Mode = QuantizationMode.Dynamic });
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => estimator.Fit(rows));
        StringAssert.Contains(e.Message, "already quantized");
    }

    private sealed class Pixels
    {
        [Microsoft.ML.Data.VectorType(784)]
        [Microsoft.ML.Data.ColumnName("input")]
        public float[] Input { get; set; } = new float[784];
    }
}
