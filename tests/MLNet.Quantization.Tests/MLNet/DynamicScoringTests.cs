using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>
/// Dynamic mode scoring many rows per run with fmnist_rowtf (real ORT): per-row ranges make a row's outputs independent
/// of its batch mates and equal to the exported QDQ model run on that row alone; per-batch ranges equal ORT running
/// the exported model on the whole batch.
/// </summary>
[TestClass]
public sealed class DynamicScoringTests
{
    private const int Batch = 32;
    private static MLContext _ml = null!;
    private static QuantizedModelTransformer _perRow = null!;
    private static QuantizedModelTransformer _perBatch = null!;
    private static List<float[]> _images = null!;

    /// <summary>One normalised image in the model's input column.</summary>
    public sealed class InputRow
    {
        [VectorType(784)]
        public float[] input { get; set; } = [];
    }

    [ClassInitialize]
    public static void Fit(TestContext context)
    {
        _ml = new MLContext(seed: 1);
        var test = FashionMnistRows.Test;
        _images = Enumerable.Range(0, 200).Select(i => test.Image(i).ToArray().Select(p => (p / 255f - 0.286f) / 0.353f).ToArray()).ToList();
        var schema = View(_images.Take(1));
        _perRow = Quantize(DynamicRangeScope.PerRow, schema);
        _perBatch = Quantize(DynamicRangeScope.PerBatch, schema);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _perRow?.Dispose();
        _perBatch?.Dispose();
    }

    [TestMethod]
    public void PerRowScoresManyRowsPerRunWithMatMulIntegerToFloatAndNoPerTensorRanges()
    {
        Assert.AreEqual(Batch, _perRow.ScoringBatchSize);
        Assert.AreEqual(Batch, _perBatch.ScoringBatchSize);
        var perRow = MLNet.Quantization.Onnx.OnnxModel.Load(_perRow.ScoringModel).Proto.Graph.Node;
        Assert.IsTrue(perRow.Count(n => n.OpType == "MatMulIntegerToFloat") >= 2, "the dynamic linears run as MatMulIntegerToFloat");
        Assert.IsFalse(perRow.Any(n => n.OpType is "DynamicQuantizeLinear" or "DynamicQuantizeMatMul"), "no per-tensor run-time range is left");
    }

    [TestMethod]
    public void PerRowGivesARowTheSameOutputsAloneAndAmongRandomBatchMatesAndPerBatchDoesNot()
    {
        var rng = new Random(7);
        double perRowWorst = 0, perBatchWorst = 0;
        foreach (int target in new[] { 0, 5, 17, 123 })
        {
            int position = rng.Next(Batch);
            var batch = Enumerable.Range(0, Batch).Select(i => i == position ? _images[target] : _images[rng.Next(_images.Count)]).ToList();
            perRowWorst = Math.Max(perRowWorst, Difference(Score(_perRow, [_images[target]])[0], Score(_perRow, batch)[position]));
            perBatchWorst = Math.Max(perBatchWorst, Difference(Score(_perBatch, [_images[target]])[0], Score(_perBatch, batch)[position]));
        }

        Assert.IsTrue(perRowWorst <= DynamicScoringModel.RowTolerance, $"per-row: a row alone and among batch mates differ by {perRowWorst:G3}");
        Assert.IsTrue(perBatchWorst > 100 * DynamicScoringModel.RowTolerance, $"per-batch ranges depend on the batch mates (else this test proves nothing): {perBatchWorst:G3}");
    }

    /// <summary>The largest difference relative to max(1, the largest magnitude of <paramref name="expected"/>).</summary>
    private static double Difference(float[] expected, float[] actual)
    {
        double scale = Math.Max(1, expected.Max(v => Math.Abs(v)));
        return expected.Zip(actual, (e, a) => Math.Abs((double)e - a) / scale).Max();
    }

    [TestMethod]
    public void PerRowIsAsCloseToFloatAsTheExportedQdqModelRunOneRowAtATime()
    {
        // ORT's fused DynamicQuantizeMatMul multiplies uint8 by int8 weights, whose AVX2 kernel (no VNNI) adds pairs of
        // products in saturating int16; the per-row form's integer products are exact, so the two differ where that
        // saturates, and the per-row outputs must be at least as close to float.
        var rows = _images.Take(100).ToList();
        var scored = Score(_perRow, rows);
        using var exported = ExportedSession(_perRow);
        using var floatModel = new InferenceSession(TestPaths.Model("fmnist_rowtf"));
        var reference = Run(floatModel, rows);
        var rowAtATime = rows.Select(r => Run(exported, [r])[0]).ToList();
        double perRowDb = Sqnr(reference, scored), exportedDb = Sqnr(reference, rowAtATime);
        Console.WriteLine($"output SQNR against float: per-row {perRowDb:F2} dB, exported QDQ one row per run {exportedDb:F2} dB");
        Assert.IsTrue(perRowDb >= exportedDb - 0.5, $"per-row {perRowDb:F2} dB vs exported {exportedDb:F2} dB");
        Assert.IsTrue(perRowDb > 15, $"per-row output SQNR {perRowDb:F2} dB");
    }

    private static double Sqnr(List<float[]> reference, List<float[]> actual)
    {
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Count; i++)
        {
            for (int j = 0; j < reference[i].Length; j++)
            {
                signal += (double)reference[i][j] * reference[i][j];
                noise += Math.Pow(reference[i][j] - actual[i][j], 2);
            }
        }

        return 10 * Math.Log10(signal / noise);
    }

    [TestMethod]
    public void PerBatchEqualsOrtRunningTheExportedModelOnTheWholeBatch()
    {
        var rows = _images.Take(Batch).ToList();
        var scored = Score(_perBatch, rows);
        using var session = ExportedSession(_perBatch);
        var expected = Run(session, rows);
        for (int i = 0; i < rows.Count; i++)
            CollectionAssert.AreEqual(expected[i], scored[i], $"row {i}");
    }

    private static QuantizedModelTransformer Quantize(DynamicRangeScope scope, IDataView schema, int? threads = null) =>
        _ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_rowtf"),
            Mode = QuantizationMode.Dynamic,
            DynamicRangeScope = scope,
            ScoringBatchSize = Batch,
            IntraOpNumThreads = threads,
        }).Fit(schema);

    private static IDataView View(IEnumerable<float[]> rows) => _ml.Data.LoadFromEnumerable(rows.Select(r => new InputRow { input = r }).ToList());

    private static List<float[]> Score(QuantizedModelTransformer model, List<float[]> rows) => ScoredRows.Read(model.Transform(View(rows)));

    private static InferenceSession ExportedSession(QuantizedModelTransformer model)
    {
        var bytes = new MemoryStream();
        model.ExportOnnx(bytes);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(bytes.ToArray(), options);
    }

    private static List<float[]> Run(InferenceSession session, List<float[]> rows)
    {
        var data = rows.SelectMany(r => r).ToArray();
        var input = NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(data, [rows.Count, 1, 28, 28]));
        using var results = session.Run([input]);
        var logits = results[0].AsTensor<float>().ToArray();
        int width = logits.Length / rows.Count;
        return Enumerable.Range(0, rows.Count).Select(i => logits.AsSpan(i * width, width).ToArray()).ToList();
    }
}
