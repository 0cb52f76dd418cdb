using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.RealModels.Tests.Metrics;
using MLNet.Quantization.RealModels.Tests.Models;
using MLNet.Quantization.RealModels.Tests.Ocr;

namespace MLNet.Quantization.RealModels.Tests;

/// <summary>
/// The PaddleOCR models through <c>mlContext.Transforms.Quantize</c>, as an ML.NET user runs them: their H×W are
/// symbolic, so the options give a shape (as <c>ApplyOnnxModel</c>'s shape dictionary does); the batch stays symbolic.
/// </summary>
[TestClass]
public sealed class OcrMlNetPipelineTests
{
    private const int ClsSize = 3 * PaddleInputs.ClassifierHeight * PaddleInputs.ClassifierWidth;
    private const int DetSide = 320;
    private const int DetSize = 3 * DetSide * DetSide;

    private sealed class ClsRow
    {
        [VectorType(ClsSize)]
        [ColumnName("x")]
        public float[] X { get; set; } = [];
    }

    private sealed class DetRow
    {
        [VectorType(DetSize)]
        [ColumnName("x")]
        public float[] X { get; set; } = [];
    }

    [TestMethod]
    public void ClassifierQuantizedInAPipelineKeepsItsAccuracyAndScoresManyRowsPerRun()
    {
        var ml = new MLContext(seed: 1);
        var (calibration, test, labels) = OcrClassifierTests.Lines();
        var options = new QuantizationOptions
        {
            ModelFile = RealModelFiles.OcrClassifier,
            ShapeDictionary = new Dictionary<string, int[]> { ["x"] = [1, 3, PaddleInputs.ClassifierHeight, PaddleInputs.ClassifierWidth] },
            MaxCalibrationRows = 128,
        };
        using var model = ml.Transforms.Quantize(options).Fit(ml.Data.LoadFromEnumerable(calibration.Select(c => new ClsRow { X = c })));
        Assert.IsGreaterThan(1, model.ScoringBatchSize, "the batch made symbolic again after the shape override");

        var scored = model.Transform(ml.Data.LoadFromEnumerable(test.Select(t => new ClsRow { X = t })));
        var scores = scored.GetColumn<float[]>("softmax_0.tmp_0").ToList();
        using var fp32 = new OrtModel(File.ReadAllBytes(RealModelFiles.OcrClassifier));
        int correctInt8 = 0, correctFloat = 0;
        for (int i = 0; i < test.Count; i++)
        {
            correctInt8 += (scores[i][1] > scores[i][0] ? 1 : 0) == labels[i] ? 1 : 0;
            var f = fp32.Run(test[i], 1, 3, PaddleInputs.ClassifierHeight, PaddleInputs.ClassifierWidth);
            correctFloat += (f[1] > f[0] ? 1 : 0) == labels[i] ? 1 : 0;
        }

        double a = (double)correctFloat / test.Count, b = (double)correctInt8 / test.Count;
        Assert.IsGreaterThanOrEqualTo(0.9, a, $"fp32 {a:P2}");
        Assert.IsGreaterThanOrEqualTo(a - 0.02, b, $"fp32 {a:P2} int8 through ML.NET {b:P2}");
    }

    [TestMethod]
    public void DetectorQuantizedInAPipelineGivesTheFloatTextMap()
    {
        var ml = new MLContext(seed: 1);
        using var renderer = new TextRenderer(seed: 777);
        var calibration = Enumerable.Range(0, 8).Select(_ => new DetRow { X = PaddleInputs.Detector(renderer.Page(DetSide, DetSide).Image) }).ToList();
        var pages = Enumerable.Range(0, 4).Select(_ => PaddleInputs.Detector(renderer.Page(DetSide, DetSide).Image)).ToList();
        var options = new QuantizationOptions
        {
            ModelFile = RealModelFiles.OcrDetector,
            ShapeDictionary = new Dictionary<string, int[]> { ["x"] = [1, 3, DetSide, DetSide] },
        };
        using var model = ml.Transforms.Quantize(options).Fit(ml.Data.LoadFromEnumerable(calibration));
        var maps = model.Transform(ml.Data.LoadFromEnumerable(pages.Select(p => new DetRow { X = p }))).GetColumn<float[]>("sigmoid_0.tmp_0").ToList();

        using var fp32 = new OrtModel(File.ReadAllBytes(RealModelFiles.OcrDetector));
        double iou = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            var f = new TextMap(fp32.Run(pages[i], 1, 3, DetSide, DetSide), DetSide, DetSide);
            var q = new TextMap(maps[i], DetSide, DetSide);
            iou += TextMap.BinaryIoU(f.Binarized(), q.Binarized());
        }

        iou /= pages.Count;
        Assert.IsGreaterThanOrEqualTo(0.9, iou, $"text-map IoU of the ML.NET int8 pipeline against fp32 {iou:F4}");
    }
}
