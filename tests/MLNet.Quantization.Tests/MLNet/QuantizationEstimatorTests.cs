using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>
/// mlContext.Transforms.Quantize in a real pipeline on Fashion-MNIST: raw pixels → Expression (normalise) → Quantize
/// (fmnist_cnn, static, fitted on 512 training rows) → logits, with real ONNX Runtime.
/// </summary>
[TestClass]
public sealed class QuantizationEstimatorTests
{
    private static MLContext _ml = null!;
    private static ITransformer _pipeline = null!;
    private static QuantizedModelTransformer _quantizer = null!;

    [ClassInitialize]
    public static void FitPipeline(TestContext context)
    {
        _ml = new MLContext(seed: 1);
        var estimator = FashionMnistRows.Normalize(_ml).Append(_ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn")));
        var chain = estimator.Fit(FashionMnistRows.CalibrationView(_ml));
        _pipeline = chain;
        _quantizer = (QuantizedModelTransformer)chain.LastTransformer;
    }

    [ClassCleanup]
    public static void Cleanup() => _quantizer?.Dispose();

    [TestMethod]
    public void Int8AccuracyOnTheFullTestSetIsWithinThreeTenthsOfAPointOfFp32()
    {
        var (accuracy, outputs) = FashionMnistRows.Score(_pipeline.Transform(FashionMnistRows.TestView(_ml)));
        double fp32 = TestData.Fp32Accuracy("fmnist_cnn"); // 0.9117
        Assert.AreEqual(10_000, outputs.Count);
        Assert.AreEqual(10, outputs[0].Length);
        Assert.IsTrue(Math.Abs(accuracy - fp32) <= 0.003, $"int8 accuracy {accuracy:F4} vs fp32 {fp32:F4}");
    }

    [TestMethod]
    public void BatchedScoringEqualsOnnxTransformerRowAtATime()
    {
        // 1,000 rows: 15 full batches of 64 and a partial one of 40.
        var view = FashionMnistRows.Normalize(_ml).Fit(FashionMnistRows.TestView(_ml, 1000)).Transform(FashionMnistRows.TestView(_ml, 1000));
        Assert.AreEqual(64, _quantizer.ScoringBatchSize);
        var (_, batched) = FashionMnistRows.Score(_quantizer.Transform(view));
        var (_, rowAtATime) = FashionMnistRows.Score(_quantizer.OnnxTransformer.Transform(view));
        Assert.AreEqual(1000, batched.Count);
        Assert.AreEqual(rowAtATime.Count, batched.Count);
        for (int i = 0; i < batched.Count; i++)
            CollectionAssert.AreEqual(rowAtATime[i], batched[i], $"row {i}");
    }

    [TestMethod]
    public void PassThroughColumnsAndRowIdsFollowTheirRows()
    {
        var source = FashionMnistRows.TestView(_ml, 300);
        var scored = _pipeline.Transform(source);
        var label = scored.Schema["Label"];
        var pixels = scored.Schema["Pixels"];
        using var cursor = scored.GetRowCursor([label, pixels]);
        var getLabel = cursor.GetGetter<int>(label);
        var getPixels = cursor.GetGetter<VBuffer<float>>(pixels);
        var getId = cursor.GetIdGetter();
        int row = 0, labelValue = 0;
        VBuffer<float> pixelValue = default;
        DataViewRowId id = default, previous = default;
        while (cursor.MoveNext())
        {
            getLabel(ref labelValue);
            getPixels(ref pixelValue);
            getId(ref id);
            Assert.AreEqual(row, cursor.Position);
            Assert.AreEqual(FashionMnistRows.Test.Labels[row], labelValue, $"label of row {row}");
            CollectionAssert.AreEqual(FashionMnistRows.Test.Image(row).ToArray(), pixelValue.DenseValues().ToArray(), $"pixels of row {row}");
            if (row > 0)
                Assert.AreNotEqual(previous, id);
            previous = id;
            row++;
        }

        Assert.AreEqual(300, row);
    }

    [TestMethod]
    public void SaveAndLoadGiveIdenticalOutputsWithTheQuantizerBetweenOtherTransforms()
    {
        // Expression → Quantize → CopyColumns: the quantizer sits between two other ML.NET transforms.
        var estimator = FashionMnistRows.Normalize(_ml)
            .Append(_ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn")))
            .Append(_ml.Transforms.CopyColumns("Score", "logits"));
        var calibration = FashionMnistRows.CalibrationView(_ml);
        var model = estimator.Fit(calibration);
        string dir = TestPaths.NewTempDirectory();
        string path = Path.Combine(dir, "model.zip");
        _ml.Model.Save(model, calibration.Schema, path);
        var loaded = new MLContext(seed: 2).Model.Load(path, out var loadedSchema);

        var test = FashionMnistRows.TestView(_ml, 500);
        var (_, before) = FashionMnistRows.Score(model.Transform(test), "Score");
        var (_, after) = FashionMnistRows.Score(loaded.Transform(test), "Score");
        Assert.AreEqual(500, after.Count);
        for (int i = 0; i < before.Count; i++)
            CollectionAssert.AreEqual(before[i], after[i], $"row {i}");

        // The loaded quantizer is ML.NET's own OnnxTransformer running the int8 model.
        var chain = (TransformerChain<ITransformer>)loaded;
        Assert.IsInstanceOfType<OnnxTransformer>(chain.ElementAt(1));
        Assert.IsNotNull(loadedSchema.GetColumnOrNull("Pixels"));
        ((QuantizedModelTransformer)model.ElementAt(1)).Dispose();
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void ExportOnnxWritesTheQdqModelAndTheReportCountsQuantizedNodes()
    {
        string dir = TestPaths.NewTempDirectory();
        string path = Path.Combine(dir, "cnn.int8.onnx");
        _quantizer.ExportOnnx(path);
        var exported = OnnxModel.Load(path);
        var graph = global::MLNet.Quantization.Graph.OnnxGraph.FromModel(exported);
        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "QuantizeLinear"), "no QuantizeLinear in the export");
        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "DequantizeLinear"), "no DequantizeLinear in the export");
        using var stream = new MemoryStream();
        _quantizer.ExportOnnx(stream);
        Assert.AreEqual(new FileInfo(path).Length, stream.Length);

        var report = _quantizer.QuantizationReport;
        Assert.AreEqual("static", report.Mode);
        Assert.IsTrue(report.QuantizedNodesByOpType.GetValueOrDefault("Conv") > 0, report.ToString());
        Assert.AreEqual(512, report.CalibrationSamples);
        Assert.IsTrue(report.QuantizedModelBytes < report.FloatModelBytes, report.ToString());
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void GetOutputSchemaDeclaresTheModelOutputs()
    {
        var normalize = FashionMnistRows.Normalize(_ml);
        var shape = normalize.GetOutputSchema(SchemaShapeOf(FashionMnistRows.TestView(_ml, 1).Schema));
        var output = _ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn")).GetOutputSchema(shape);
        var logits = output.Single(c => c.Name == "logits");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, logits.Kind);
        Assert.AreEqual(NumberDataViewType.Single, logits.ItemType);
    }

    /// <summary>ML.NET keeps SchemaShape.Create internal; tests reach it by reflection (the library does not).</summary>
    internal static SchemaShape SchemaShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;
}
