using Microsoft.ML;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary><see cref="QuantizationOptions.CrossLayerEqualization"/>: equalization inside <c>Fit</c>, static and dynamic.</summary>
[TestClass]
public sealed class CrossLayerEqualizationEstimatorTests
{
    [TestMethod]
    [DataRow(QuantizationMode.Static)]
    [DataRow(QuantizationMode.Dynamic)]
    public void FitEqualizesTheConvPairAndRecordsItInTheExportedModel(QuantizationMode mode)
    {
        var ml = new MLContext(seed: 1);
        var estimator = FashionMnistRows.Normalize(ml).Append(ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            Mode = mode,
            CrossLayerEqualization = true,
        }));
        using var transformer = (QuantizedModelTransformer)estimator.Fit(FashionMnistRows.CalibrationView(ml)).LastTransformer;
        Assert.AreEqual(1, transformer.QuantizationReport.EqualizedPairs, "fmnist_cnn's Conv → Relu → MaxPool → Conv");
        using var exported = new MemoryStream();
        transformer.ExportOnnx(exported);
        StringAssert.Contains(OnnxModel.Load(exported.ToArray()).MetadataProps["mlnet_quantization.float_reference"], "cross_layer_equalization=true");
    }
}
