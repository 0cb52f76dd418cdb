using System.Diagnostics;
using MLNet.Quantization.RealModels.Tests.Metrics;
using MLNet.Quantization.RealModels.Tests.Models;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.RealModels.Tests.Ocr;

namespace MLNet.Quantization.RealModels.Tests;

/// <summary>PP-OCRv4's DB text detector on rendered pages: int8 text map and boxes against float and the rendered lines.</summary>
[TestClass]
public sealed class OcrDetectorTests
{
    internal const int PageSize = 480;
    private const int CalibrationPages = 16;
    private const int TestPages = 16;
    internal static readonly int[] SampleShape = [3, PageSize, PageSize];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Int8DetectorFindsTheLinesFloatFinds() => Measure(new X86Quantizer(), "default");

    /// <summary>
    /// X86Quantizer.QuantizeElementwise: the learnable affine blocks, hard-swishes and SE gates run as QLinearAdd and
    /// QLinearMul, within the same bars as the default (measured in docs/real-models.md).
    /// </summary>
    [TestMethod]
    public void Int8ElementwiseDetectorFindsTheLinesFloatFinds()
    {
        var census = Measure(new X86Quantizer { QuantizeElementwise = true }, "elementwise int8");
        Assert.IsGreaterThan(100, census.Int8Kernels.GetValueOrDefault("com.microsoft:QLinearMul") + census.Int8Kernels.GetValueOrDefault("com.microsoft:QLinearAdd"), census.ToString());
        Assert.IsEmpty(census.UnfusedCompute, census.ToString());
    }

    /// <summary>Quantizes the detector with <paramref name="quantizer"/>, checks the text map and lines against float, and returns what ORT runs in int8.</summary>
    private Runtime.OrtInt8Census Measure(X86Quantizer quantizer, string label)
    {
        var clock = Stopwatch.StartNew();
        using var renderer = new TextRenderer(seed: 4242);
        var calibration = Enumerable.Range(0, CalibrationPages).Select(_ => PaddleInputs.Detector(renderer.Page(PageSize, PageSize).Image)).ToList();
        var pages = Enumerable.Range(0, TestPages).Select(_ => renderer.Page(PageSize, PageSize)).ToList();
        var quantized = DefaultQuantization.Run(RealModelFiles.OcrDetector, calibration, SampleShape, 4, MeasuredVariant.Options, quantizer);
        double quantizeSeconds = clock.Elapsed.TotalSeconds;

        using var fp32 = new OrtModel(File.ReadAllBytes(RealModelFiles.OcrDetector));
        using var int8 = new OrtModel(quantized.Model.ToBytes());
        int lines = 0, floatFound = 0, int8Found = 0, bothFound = 0;
        double iouSum = 0;
        foreach (var page in pages)
        {
            var x = PaddleInputs.Detector(page.Image);
            var f = new TextMap(fp32.Run(x, [1, .. SampleShape]), PageSize, PageSize);
            var q = new TextMap(int8.Run(x, [1, .. SampleShape]), PageSize, PageSize);
            iouSum += TextMap.BinaryIoU(f.Binarized(), q.Binarized());
            var matchF = BoxMatching.Match(page.Lines, f.TextBoxes(), 0.5);
            var matchQ = BoxMatching.Match(page.Lines, q.TextBoxes(), 0.5);
            lines += page.Lines.Count;
            floatFound += matchF.Count(m => m >= 0);
            int8Found += matchQ.Count(m => m >= 0);
            bothFound += matchF.Zip(matchQ).Count(p => p.First >= 0 && p.Second >= 0);
        }

        double iou = iouSum / pages.Count;
        var census = quantized.Report.OrtInt8!;
        TestContext.WriteLine($"det {PageSize}×{PageSize}, {label} ({MeasuredVariant.Label}; equalized pairs {quantized.Report.EqualizedPairs}): output SQNR {quantized.Report.OutputSqnrDb:F2} dB; text-map IoU int8 vs fp32 {iou:F4}; lines found fp32 {floatFound}/{lines}, int8 {int8Found}/{lines}, " +
            $"both {bothFound}; quantized {quantized.Report.QuantizedNodesByOpType.Sum(kv => kv.Value)} nodes, {quantized.Report.NodesLeftInFloat.Count} left in float; " +
            $"quantize {quantizeSeconds:F1} s, total {clock.Elapsed.TotalSeconds:F1} s");
        TestContext.WriteLine($"det {label}: ONNX Runtime int8 kernels {census}");
        Assert.IsGreaterThanOrEqualTo(0.9 * lines, floatFound, $"fp32 finds {floatFound} of {lines} rendered lines (sanity of rendering, preprocessing and post-processing)");
        Assert.IsGreaterThanOrEqualTo(0.95, iou, $"text-map IoU int8 against fp32 {iou:F4} (fp32 found {floatFound}, int8 {int8Found} of {lines} lines)");
        Assert.IsGreaterThanOrEqualTo(0.98 * floatFound, bothFound, $"int8 finds {bothFound} of the {floatFound} lines fp32 finds");
        return census;
    }
}
