using Google.Protobuf;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

[TestClass]
public sealed class SqnrTests
{
    private static readonly double FiveToOne = 20 * Math.Log10(5.0); // ‖[3,4]‖ = 5, ‖[0,1]‖ = 1 → 13.9794 dB

    [TestMethod]
    public void SqnrFollowsTheDefinitionOnHandWorkedNumbers()
    {
        double db = Sqnr.Compute([3f, 4f], [3f, 3f]);
        Assert.AreEqual(13.9794, db, 1e-4);
        Assert.AreEqual(FiveToOne, db, 1e-12);
        // 10·log10(Σx²/Σe²) with x = [1, 2, 2] (‖x‖ = 3) and e = [0.1, 0.2, -0.2] (‖e‖ = 0.3): 20 dB
        Assert.AreEqual(20.0, Sqnr.Compute([1f, 2f, 2f], [0.9f, 1.8f, 2.2f]), 1e-5);
    }

    [TestMethod]
    public void ExactAndDegenerateCasesAreHandled()
    {
        Assert.AreEqual(double.PositiveInfinity, Sqnr.Compute([3f, 4f], [3f, 4f]));
        Assert.AreEqual(double.PositiveInfinity, Sqnr.Compute([0f, 0f], [0f, 0f]));
        Assert.AreEqual(double.NegativeInfinity, Sqnr.Compute([0f, 0f], [0f, 1f]));
        Assert.IsTrue(double.IsNaN(Sqnr.Compute([float.NaN], [1f])));
        Assert.AreEqual("inf", SqnrReport.FormatDb(double.PositiveInfinity));
        Assert.ThrowsExactly<ArgumentException>(() => Sqnr.Compute([1f, 2f], [1f]));
    }

    [TestMethod]
    public void PerChannelSqnrSplitsAlongTheAxis()
    {
        // [[3, 1], [4, 0]] against [[3, 1], [3, 0]]: along axis 1 the columns are [3, 4]→[3, 3] and [1, 0]→[1, 0]
        float[] x = [3, 1, 4, 0];
        float[] xHat = [3, 1, 3, 0];
        var columns = Sqnr.ComputePerChannel(x, xHat, [2, 2], 1);
        Assert.AreEqual(FiveToOne, columns[0], 1e-12);
        Assert.AreEqual(double.PositiveInfinity, columns[1]);
        var rows = Sqnr.ComputePerChannel(x, xHat, [2, 2], 0); // rows [3, 1] exact, [4, 0]→[3, 0]: 20·log10(4)
        Assert.AreEqual(double.PositiveInfinity, rows[0]);
        Assert.AreEqual(20 * Math.Log10(4.0), rows[1], 1e-12);
        Assert.ThrowsExactly<ArgumentException>(() => Sqnr.ComputePerChannel(x, xHat, [2, 2], 2));
    }

    [TestMethod]
    public void WeightComparisonReportsTensorAndWorstChannelOfAHandBuiltQdqModel()
    {
        // float Y = X · W with W = [[3, 1], [4, 0]]; the QDQ model stores int8 [[3, 1], [3, 0]] with scale 1, zero point 0
        var floatModel = OnnxModel.Load(TinyModels.MatMul([3, 1, 4, 0], 2, 2).ToByteArray());
        var quantized = TinyModels.MatMul([3, 1, 4, 0], 2, 2);
        var graph = quantized.Graph;
        graph.Initializer.Clear();
        graph.Initializer.Add(new TensorProto { Name = "W_quantized", DataType = (int)TensorProto.Types.DataType.Int8, Dims = { 2, 2 }, RawData = ByteString.CopyFrom(3, 1, 3, 0) });
        graph.Initializer.Add(TinyModels.FloatTensor("W_scale", [], [1f]));
        graph.Initializer.Add(new TensorProto { Name = "W_zero_point", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(0) });
        graph.Node.Insert(0, new NodeProto { Name = "W_DequantizeLinear", OpType = "DequantizeLinear", Input = { "W_quantized", "W_scale", "W_zero_point" }, Output = { "W_dequantized" } });
        graph.Node[1].Input[1] = "W_dequantized";

        var report = NumericSuite.CompareWeights(floatModel, OnnxModel.Load(quantized.ToByteArray()));
        Assert.IsEmpty(report.Unmatched);
        var w = report.Weights.Single();
        Assert.AreEqual("W", w.FloatName);
        Assert.AreEqual("weight", w.Role);
        Assert.AreEqual(10 * Math.Log10(26.0), w.SqnrDb, 1e-9); // Σx² = 9 + 1 + 16 + 0, Σe² = 1
        Assert.AreEqual(1, w.ChannelAxis);                      // MatMul's output channels are W's columns
        Assert.AreEqual(0, w.WorstChannel);
        Assert.AreEqual(FiveToOne, w.WorstChannelSqnrDb, 1e-9);
        Assert.IsFalse(w.PerChannel);
    }
}
