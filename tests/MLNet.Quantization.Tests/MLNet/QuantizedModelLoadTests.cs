using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>QuantizedModelTransformer.Load: a saved pipeline comes back with the batching transformer, outputs bit-identical to ML.NET's own load.</summary>
[TestClass]
public sealed class QuantizedModelLoadTests
{
    private static MLContext _ml = null!;
    private static string _dir = "";
    private static string _zip = "";

    [ClassInitialize]
    public static void SavePipeline(TestContext context)
    {
        _ml = new MLContext(seed: 1);
        var estimator = FashionMnistRows.Normalize(_ml)
            .Append(_ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn")))
            .Append(_ml.Transforms.CopyColumns("Score", "logits"));
        var calibration = FashionMnistRows.CalibrationView(_ml);
        using var model = (IDisposable)estimator.Fit(calibration);
        _dir = TestPaths.NewTempDirectory();
        _zip = Path.Combine(_dir, "model.zip");
        _ml.Model.Save((ITransformer)model, calibration.Schema, _zip);
    }

    [TestMethod]
    public void LoadedPipelineBatchesAndGivesMlNetsOutputsBitForBit()
    {
        var loaded = QuantizedModelTransformer.Load(new MLContext(seed: 2), _zip, out var schema, scoringBatchSize: 32);
        var chain = (TransformerChain<ITransformer>)loaded;
        var quantizer = (QuantizedModelTransformer)chain.ElementAt(1);
        Assert.AreEqual(32, quantizer.ScoringBatchSize);
        Assert.AreEqual("static", quantizer.QuantizationReport.Mode);
        Assert.IsGreaterThan(0, quantizer.QuantizationReport.QuantizedNodesByOpType.GetValueOrDefault("Conv"), quantizer.QuantizationReport.ToString());
        Assert.IsNotNull(schema.GetColumnOrNull("Pixels"));

        var plain = new MLContext(seed: 3).Model.Load(_zip, out _);
        Assert.IsInstanceOfType<OnnxTransformer>(((TransformerChain<ITransformer>)plain).ElementAt(1), "mlContext.Model.Load keeps working and gives ML.NET's transformer");
        var test = FashionMnistRows.TestView(_ml, 1000);
        var (accuracy, ours) = FashionMnistRows.Score(loaded.Transform(test), "Score");
        var (plainAccuracy, theirs) = FashionMnistRows.Score(plain.Transform(test), "Score");
        Assert.AreEqual(1000, ours.Count);
        for (int i = 0; i < ours.Count; i++)
            CollectionAssert.AreEqual(theirs[i], ours[i], $"row {i}");
        Assert.AreEqual(plainAccuracy, accuracy);
        quantizer.Dispose();
    }

    [TestMethod]
    public void LoadFromAStreamThatCannotSeek()
    {
        using var stream = new NonSeekable(File.ReadAllBytes(_zip));
        var loaded = QuantizedModelTransformer.Load(new MLContext(seed: 2), stream, out _);
        Assert.IsInstanceOfType<QuantizedModelTransformer>(((TransformerChain<ITransformer>)loaded).ElementAt(1));
    }

    [TestMethod]
    public void APipelineWithoutOurModelIsRefusedNamingTheFile()
    {
        var plainOnnx = _ml.Transforms.ApplyOnnxModel(["logits"], ["input"], TestPaths.Model("fmnist_cnn"));
        var estimator = FashionMnistRows.Normalize(_ml).Append(plainOnnx);
        var calibration = FashionMnistRows.CalibrationView(_ml);
        string path = Path.Combine(_dir, "float.zip");
        _ml.Model.Save(estimator.Fit(calibration), calibration.Schema, path);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => QuantizedModelTransformer.Load(_ml, path, out _));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "no ONNX transformer");
    }

    [TestMethod]
    public void NotAZipAndHostileEntriesAreRefusedWithoutExtracting()
    {
        string garbage = Path.Combine(_dir, "garbage.zip");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5]);
        var notZip = Assert.ThrowsExactly<InvalidDataException>(() => QuantizedModelTransformer.Load(_ml, garbage, out _));
        StringAssert.Contains(notZip.Message, garbage);

        string hostile = Path.Combine(_dir, "hostile.zip");
        using (var zip = ZipFile.Open(hostile, ZipArchiveMode.Create))
        {
            using var entry = zip.CreateEntry("../../escape/OnnxModel").Open();
            entry.Write(new byte[100]);
        }

        var traversal = Assert.ThrowsExactly<InvalidDataException>(() => QuantizedModelTransformer.Load(_ml, hostile, out _));
        StringAssert.Contains(traversal.Message, hostile);
        StringAssert.Contains(traversal.Message, "../../escape/OnnxModel");
        Assert.IsFalse(Directory.Exists(Path.GetFullPath(Path.Combine(_dir, "..", "..", "escape"))), "nothing is extracted by entry name");
    }

    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
