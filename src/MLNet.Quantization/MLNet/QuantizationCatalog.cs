using MLNet.Quantization;

namespace Microsoft.ML;

/// <summary>Int8 quantization in ML.NET pipelines: <c>mlContext.Transforms.Quantize(...)</c>.</summary>
public static class QuantizationCatalog
{
    /// <summary>Quantizes an ONNX model to int8 when fitted; see <see cref="QuantizationOptions"/>.</summary>
    public static QuantizationEstimator Quantize(this TransformsCatalog catalog, QuantizationOptions options) => new(catalog, options);

    /// <summary>
    /// Quantizes the ONNX model at <paramref name="modelPath"/> to int8 when fitted, with the default X86 quantizer.
    /// Column names are the model's input and output names, as with <c>ApplyOnnxModel</c>; null selects them all.
    /// </summary>
    public static QuantizationEstimator Quantize(this TransformsCatalog catalog, string modelPath, string[]? outputColumnNames = null,
        string[]? inputColumnNames = null, QuantizationMode mode = QuantizationMode.Static) =>
        new(catalog, new QuantizationOptions
        {
            ModelPath = modelPath,
            OutputColumnNames = outputColumnNames,
            InputColumnNames = inputColumnNames,
            Mode = mode,
        });
}
