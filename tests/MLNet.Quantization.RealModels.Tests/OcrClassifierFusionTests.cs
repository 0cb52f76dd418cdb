using MLNet.Quantization.RealModels.Tests.Models;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.RealModels.Tests;

/// <summary>
/// PaddleOCR's mobile v2.0 orientation classifier (hard-swish blocks): every Conv the default placement quantizes is
/// one ONNX Runtime fuses into an int8 kernel, and the report counts what ORT runs, not what was annotated.
/// </summary>
[TestClass]
public sealed class OcrClassifierFusionTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void EveryQuantizedConvFusesAndTheReportCountsOrtKernels()
    {
        var (calibration, _, _) = OcrClassifierTests.Lines();
        var quantized = DefaultQuantization.Run(RealModelFiles.OcrClassifier, calibration.Take(32).ToList(), [3, Ocr.PaddleInputs.ClassifierHeight, Ocr.PaddleInputs.ClassifierWidth], 32);
        var census = FusedGraphInspector.Int8Census(quantized.Model.ToBytes());
        TestContext.WriteLine($"cls: annotated Conv {quantized.Report.QuantizedNodesByOpType.GetValueOrDefault("Conv")}; ORT: {census}");

        Assert.IsEmpty(census.UnfusedCompute, census.ToString());
        Assert.IsGreaterThan(0, census.Int8Kernels.GetValueOrDefault("QLinearConv"));
        CollectionAssert.AreEquivalent(census.Int8Kernels.ToList(), quantized.Report.OrtInt8!.Int8Kernels.ToList());
        StringAssert.Contains(quantized.Report.ToString(), $"ONNX Runtime int8 kernels: {census}");
        Assert.IsFalse(quantized.Report.Warnings.Any(w => w.Contains("in float on dequantized inputs", StringComparison.Ordinal)));
    }
}
