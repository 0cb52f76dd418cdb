using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.RealModels.Tests.Imaging;
using MLNet.Quantization.RealModels.Tests.Metrics;
using MLNet.Quantization.RealModels.Tests.Models;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.RealModels.Tests;

/// <summary>One image as ML.NET's <c>ExtractPixels</c> gives it to the featurizer: RGB planes, 0–255.</summary>
public sealed class PixelRow
{
    [VectorType(3, ResNet18TransferLearningTests.ImageSize, ResNet18TransferLearningTests.ImageSize)]
    public float[] Pixels { get; set; } = [];

    public int Label { get; set; }
}

/// <summary>
/// ML.NET transfer learning as its users run it: Fashion-MNIST through ML.NET's ResNet18 featurizer (float, with
/// <c>DnnFeaturizeImage</c>) or through its preprocessing model and <c>Transforms.Quantize</c> on ResNet18.onnx (int8),
/// then <c>SdcaMaximumEntropy</c> on the 512 features.
/// </summary>
[TestClass]
public sealed class ResNet18TransferLearningTests
{
    public const int ImageSize = 224;
    private const int CalibrationImages = 128;
    private const int TrainImages = 1000;
    private const int TestImages = 500;
    private const int SavedRowsCompared = 64;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Int8FeaturesTrainAsGoodAClassifierAsFloatFeatures()
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed: 1);
        var train = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: TrainImages, normalize: false);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false, maxCount: TestImages, normalize: false);

        var floatFeatures = ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels");
        var floatModel = Classifier(ml, floatFeatures).Fit(View(ml, train));
        var (floatAccuracy, floatTest) = Evaluate(ml, floatModel, test);
        double floatSeconds = clock.Elapsed.TotalSeconds;

        var int8Model = Classifier(ml, Int8Features(ml)).Fit(View(ml, train));
        var (int8Accuracy, int8Test) = Evaluate(ml, int8Model, test);
        double cosine = FeatureAgreement.MeanCosine(floatTest.Features, int8Test.Features);
        double int8Seconds = clock.Elapsed.TotalSeconds - floatSeconds;

        string path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "resnet18_fmnist_int8.zip");
        ml.Model.Save(int8Model, View(ml, train).Schema, path);
        var loaded = new MLContext(seed: 2).Model.Load(path, out _);
        var reloaded = Scores(loaded.Transform(View(ml, test, SavedRowsCompared)));

        TestContext.WriteLine($"ResNet18 + SDCA on Fashion-MNIST ({MeasuredVariant.Label}; {TrainImages} train, {TestImages} test, {CalibrationImages} calibration): " +
            $"accuracy fp32 {floatAccuracy:P2} int8 {int8Accuracy:P2}; mean feature cosine {cosine:F4}; fp32 {floatSeconds:F0} s, int8 {int8Seconds:F0} s, total {clock.Elapsed.TotalSeconds:F0} s");
        Assert.IsGreaterThanOrEqualTo(0.7, floatAccuracy, $"fp32 transfer-learning accuracy {floatAccuracy:P2} (sanity of data and preprocessing)");
        Assert.IsGreaterThanOrEqualTo(floatAccuracy - 0.01, int8Accuracy, $"fp32 {floatAccuracy:P2} int8 {int8Accuracy:P2}");
        Assert.IsGreaterThanOrEqualTo(0.99, cosine, $"mean cosine of int8 against fp32 features {cosine:F4}");
        for (int i = 0; i < SavedRowsCompared; i++)
            CollectionAssert.AreEqual(int8Test.Scores[i], reloaded[i], new ToleranceComparer(1e-5f), $"row {i}: the saved and loaded int8 pipeline scores differently");
    }

    /// <summary>Preprocessing (ML.NET's model, float) and ResNet18 quantized by <c>Transforms.Quantize</c>, "Pixels" to "Features".</summary>
    private static IEstimator<ITransformer> Int8Features(MLContext ml)
    {
        var options = new QuantizationOptions { ModelFile = RealModelFiles.ResNet18, MaxCalibrationRows = CalibrationImages, CrossLayerEqualization = MeasuredVariant.CrossLayerEqualization };
        return ml.Transforms.CopyColumns("OriginalInput", "Pixels")
            .Append(ml.Transforms.ApplyOnnxModel(["PreprocessedInput"], ["OriginalInput"], RealModelFiles.ResNetPreprocess))
            .Append(ml.Transforms.CopyColumns("Input247", "PreprocessedInput"))
            .Append(ml.Transforms.Quantize(options))
            .Append(ml.Transforms.CopyColumns("Features", "Pooling395_Output_0"));
    }

    /// <summary>Featurizer, then only the features and label cached, min-max normalised, SDCA maximum entropy.</summary>
    private static IEstimator<ITransformer> Classifier(MLContext ml, IEstimator<ITransformer> featurizer) =>
        featurizer
            .Append(ml.Transforms.SelectColumns("Features", "Label"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"));

    private static (double Accuracy, (List<float[]> Features, List<float[]> Scores) Rows) Evaluate(MLContext ml, ITransformer model, FashionMnist test)
    {
        var scored = ml.Data.Cache(model.Transform(View(ml, test)), "Features", "Label", "Score", "PredictedLabel");
        double accuracy = ml.MulticlassClassification.Evaluate(scored).MicroAccuracy;
        return (accuracy, (scored.GetColumn<float[]>("Features").ToList(), Scores(scored)));
    }

    private static List<float[]> Scores(IDataView scored) => scored.GetColumn<float[]>("Score").ToList();

    /// <summary>The images as rows, rendered lazily (each enumeration upscales again; nothing large is held).</summary>
    private static IDataView View(MLContext ml, FashionMnist data, int? count = null) =>
        ml.Data.LoadFromEnumerable(Enumerable.Range(0, count ?? data.Count)
            .Select(i => new PixelRow { Pixels = FashionMnistPixels.Rgb(data, i, ImageSize), Label = data.Labels[i] }));

    private sealed class ToleranceComparer(float tolerance) : System.Collections.IComparer
    {
        public int Compare(object? x, object? y) => Math.Abs((float)x! - (float)y!) <= tolerance ? 0 : 1;
    }
}
