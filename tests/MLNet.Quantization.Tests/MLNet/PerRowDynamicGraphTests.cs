using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>
/// The per-row rewrite of dynamic linears on a small model with both dynamic forms (DynamicQuantizeLinear → MatMul and
/// DynamicQuantizeMatMul from a Gemm), run in real ORT: integer products make a row's outputs bit-identical alone and
/// in any batch.
/// </summary>
[TestClass]
public sealed class PerRowDynamicGraphTests
{
    private const int K = 16, T = 3, Hidden = 8, Classes = 5;

    [TestMethod]
    public void RewriteLeavesNoPerTensorRangeAndUsesMatMulIntegerToFloat()
    {
        var perRow = PerRowDynamicGraph.TryRewrite(DynamicQdq(transposeBatch: false))!;
        Assert.IsNotNull(perRow);
        var ops = perRow.Proto.Graph.Node.Select(n => n.OpType).ToList();
        Assert.AreEqual(2, ops.Count(o => o == "MatMulIntegerToFloat"), string.Join(", ", ops));
        Assert.IsFalse(ops.Any(o => o is "DynamicQuantizeLinear" or "DynamicQuantizeMatMul"), string.Join(", ", ops));
    }

    [TestMethod]
    public void ARowGetsTheSameBitsAloneAndInAnyBatchAndTheQdqModelsOutputsForItsRowAlone()
    {
        var qdq = DynamicQdq(transposeBatch: false);
        using var perRow = Session(PerRowDynamicGraph.TryRewrite(qdq)!);
        using var perTensor = Session(qdq);
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 8).Select(i => RandomRow(rng, scale: i == 2 ? 0 : i == 5 ? 1e-6f : 1 + 10 * i)).ToList();
        var batched = Run(perRow, rows);
        var reversed = Run(perRow, Enumerable.Reverse(rows).ToList());
        for (int i = 0; i < rows.Count; i++)
        {
            var alone = Run(perRow, [rows[i]])[0];
            CollectionAssert.AreEqual(alone, batched[i], $"row {i} in the batch");
            CollectionAssert.AreEqual(alone, reversed[rows.Count - 1 - i], $"row {i} in the reversed batch");
            var expected = Run(perTensor, [rows[i]])[0];
            double scale = Math.Max(1, expected.Max(Math.Abs));
            for (int j = 0; j < expected.Length; j++)
                Assert.IsTrue(Math.Abs(expected[j] - alone[j]) <= 1e-5 * scale, $"row {i} output {j}: per-tensor {expected[j]} vs per-row {alone[j]}");
        }

        var perTensorBatched = Run(perTensor, rows);
        Assert.IsTrue(Enumerable.Range(0, rows.Count).Any(i => !perTensorBatched[i].SequenceEqual(batched[i])), "per-tensor ranges over the batch differ (else this test proves nothing)");
    }

    [TestMethod]
    public void Int8WeightsAreUsedWhereOrtsUint8ByInt8GemmIsExactAndGiveTheBitsOfUint8Weights()
    {
        var qdq = DynamicQdq(transposeBatch: false);
        var signed = PerRowDynamicGraph.TryRewrite(qdq, signedWeights: true)!;
        var unsigned = PerRowDynamicGraph.TryRewrite(qdq, signedWeights: false)!;
        static string WeightType(OnnxModel m) => string.Join(",", m.Proto.Graph.Node.Where(n => n.OpType == "MatMulIntegerToFloat")
            .Select(n => (TensorProto.Types.DataType)m.Proto.Graph.Initializer.Single(i => i.Name == n.Input[1]).DataType));
        Assert.AreEqual("Int8,Int8", WeightType(signed));
        Assert.AreEqual("Uint8,Uint8", WeightType(unsigned));
        Assert.AreEqual(Runtime.OrtU8S8Probe.IsExact ? "Int8,Int8" : "Uint8,Uint8", WeightType(PerRowDynamicGraph.TryRewrite(qdq)!), "the default follows the probe");
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 6).Select(i => RandomRow(rng, scale: 1 + 20 * i)).ToList();
        using var signedSession = Session(signed);
        using var unsignedSession = Session(unsigned);
        var fromUnsigned = Run(unsignedSession, rows);
        var fromSigned = Run(signedSession, rows);
        if (Runtime.OrtU8S8Probe.IsExact)
        {
            for (int i = 0; i < rows.Count; i++)
                CollectionAssert.AreEqual(fromUnsigned[i], fromSigned[i], $"row {i}: both integer products are exact here");
        }

        using var perTensorSession = Session(qdq);
        var perTensor = Run(perTensorSession, [rows[^1]])[0];
        double scale = Math.Max(1, perTensor.Max(Math.Abs));
        // the per-tensor QDQ model runs ORT's uint8 × int8 kernel, exact only with VNNI; without it only the uint8 × uint8 side is exact
        for (int j = 0; j < perTensor.Length && Runtime.OrtU8S8Probe.IsExact; j++)
            Assert.IsTrue(Math.Abs(perTensor[j] - fromUnsigned[^1][j]) <= 1e-5 * scale, $"output {j}: per-tensor {perTensor[j]} vs per-row uint8 weights {fromUnsigned[^1][j]}");
    }

    [TestMethod]
    public void AModelWhoseFirstAxisIsNotTheBatchScoresOneRowPerRun()
    {
        var qdq = DynamicQdq(transposeBatch: true);
        Assert.IsNotNull(PerRowDynamicGraph.TryRewrite(qdq), "the rewrite applies: dimension 0 of the linear's input is T here");
        Assert.AreEqual(1, DynamicScoringModel.Choose(qdq, DynamicRangeScope.PerRow, 32, CancellationToken.None).Batch);
        Assert.AreEqual(32, DynamicScoringModel.Choose(qdq, DynamicRangeScope.PerBatch, 32, CancellationToken.None).Batch);
        Assert.AreEqual(32, DynamicScoringModel.Choose(DynamicQdq(transposeBatch: false), DynamicRangeScope.PerRow, 32, CancellationToken.None).Batch);
    }

    [TestMethod]
    public void TheDefaultScopeScoresTheExportedModelOneRowPerRun()
    {
        var qdq = DynamicQdq(transposeBatch: false);
        Assert.AreEqual(DynamicRangeScope.SingleRow, new QuantizationOptions().DynamicRangeScope);
        var (model, batch) = DynamicScoringModel.Choose(qdq, DynamicRangeScope.SingleRow, 32, CancellationToken.None);
        Assert.AreEqual(1, batch);
        Assert.AreSame(qdq, model, "the exported QDQ model itself, not the per-row rewrite");
    }


    private static float[] RandomRow(Random rng, float scale) =>
        Enumerable.Range(0, T * K).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    /// <summary>
    /// X [N, T, K] → MatMul W1 [K, Hidden] → Relu → Reshape [N, T·Hidden] → Gemm W2 + bias → Y [N, Classes], quantized
    /// in dynamic mode; with <paramref name="transposeBatch"/> X is transposed to [T, N, K] before the MatMul and back after.
    /// </summary>
    private static OnnxModel DynamicQdq(bool transposeBatch)
    {
        var rng = new Random(1);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var graph = new GraphProto { Name = "two_linears" };
        graph.Input.Add(Info("X", "N", T, K));
        graph.Output.Add(Info("Y", "N", Classes));
        graph.Initializer.Add(TinyModels.FloatTensor("W1", [K, Hidden], Random(K * Hidden)));
        graph.Initializer.Add(TinyModels.FloatTensor("W2", [T * Hidden, Classes], Random(T * Hidden * Classes)));
        graph.Initializer.Add(TinyModels.FloatTensor("B2", [Classes], Random(Classes)));
        var flat = new TensorProto { Name = "flat", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 } };
        flat.Int64Data.AddRange([0, T * Hidden]);
        graph.Initializer.Add(flat);
        string x = "X";
        if (transposeBatch)
        {
            graph.Node.Add(Node("Transpose", ["X"], "Xt", perm: [1, 0, 2]));
            x = "Xt";
        }

        graph.Node.Add(Node("MatMul", [x, "W1"], "H"));
        string h = "H";
        if (transposeBatch)
        {
            graph.Node.Add(Node("Transpose", ["H"], "Ht", perm: [1, 0, 2]));
            h = "Ht";
        }

        graph.Node.Add(Node("Relu", [h], "R"));
        graph.Node.Add(Node("Reshape", ["R", "flat"], "F"));
        graph.Node.Add(Node("Gemm", ["F", "W2", "B2"], "Y"));
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var ml = new MLContext(seed: 1);
        var schema = ml.Data.LoadFromEnumerable(new[] { new Row() });
        using var quantized = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = model.ToByteArray(), Mode = QuantizationMode.Dynamic }).Fit(schema);
        var bytes = new MemoryStream();
        quantized.ExportOnnx(bytes);
        return OnnxModel.Load(bytes.ToArray());
    }

    /// <summary>An ML.NET row for the schema of <see cref="DynamicQdq"/>.</summary>
    private sealed class Row
    {
        [Microsoft.ML.Data.VectorType(T, K)]
        public float[] X { get; set; } = new float[T * K];
    }

    private static ValueInfoProto Info(string name, string batch, params long[] dims)
    {
        var info = TinyModels.FloatInfo(name, dims);
        info.Type.TensorType.Shape.Dim.Insert(0, new TensorShapeProto.Types.Dimension { DimParam = batch });
        return info;
    }

    private static NodeProto Node(string op, string[] inputs, string output, long[]? perm = null)
    {
        var node = new NodeProto { Name = output + "_" + op, OpType = op, Input = { inputs }, Output = { output } };
        if (perm is not null)
            node.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { perm } });
        return node;
    }

    private static InferenceSession Session(OnnxModel model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(model.ToBytes(), options);
    }

    private static List<float[]> Run(InferenceSession session, List<float[]> rows)
    {
        var input = NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(rows.SelectMany(r => r).ToArray(), [rows.Count, T, K]));
        using var results = session.Run([input]);
        var y = results[0].AsTensor<float>().ToArray();
        return Enumerable.Range(0, rows.Count).Select(i => y.AsSpan(i * Classes, Classes).ToArray()).ToList();
    }
}
