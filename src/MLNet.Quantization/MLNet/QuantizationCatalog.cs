using MLNet.Quantization;

namespace Microsoft.ML;

/// <summary>Int8 quantization in ML.NET pipelines: <c>mlContext.Transforms.Quantize(...)</c>.</summary>
public static class QuantizationCatalog
{
    /// <summary>
    /// Creates a <see cref="QuantizationEstimator"/> that, when fitted, quantizes an ONNX model to int8 as
    /// <paramref name="options"/> say and scores it with ONNX Runtime's x86 int8 kernels.
    /// </summary>
    /// <param name="catalog">The transform's catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">The model, columns, mode and calibration settings.</param>
    /// <returns>An estimator; <see cref="QuantizationEstimator.Fit"/> calibrates on the view it is given (static mode).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="catalog"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">Neither or both of <see cref="QuantizationOptions.ModelFile"/> and <see cref="QuantizationOptions.ModelBytes"/> are set, a column names no model input or output, or a custom quantizer is combined with default-quantizer settings.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row count, batch size or thread count is below its minimum.</exception>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="MLNet.Quantization.Onnx.OnnxFormatException">The model file is not a valid ONNX model.</exception>
    /// <example>
    /// <code language="csharp">
    /// var mlContext = new MLContext();
    /// IDataView train = mlContext.Data.LoadFromEnumerable(images); // rows with a float[] "input" column
    /// var estimator = mlContext.Transforms.Quantize(new QuantizationOptions
    /// {
    ///     ModelFile = "model.onnx",
    ///     MaxCalibrationRows = 512,
    /// });
    /// using var quantized = estimator.Fit(train);           // prepare, calibrate on 512 rows, convert to QDQ
    /// IDataView scored = quantized.Transform(testData);      // int8 inference in ONNX Runtime
    /// quantized.ExportOnnx("model.int8.onnx");               // the QDQ model, for any ONNX Runtime
    /// </code>
    /// </example>
    public static QuantizationEstimator Quantize(this TransformsCatalog catalog, QuantizationOptions options) => new(catalog, options);

    /// <summary>
    /// Creates a <see cref="QuantizationEstimator"/> that quantizes the ONNX model at <paramref name="modelFile"/> to int8
    /// when fitted, with the default X86 quantizer. Column names are the model's input and output names, as with
    /// <c>ApplyOnnxModel</c>; null selects them all.
    /// </summary>
    /// <param name="catalog">The transform's catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="modelFile">Path of the float ONNX model (any opset from 7; older ones are converted to 13).</param>
    /// <param name="outputColumnNames">The model outputs to add as columns; null for all of them.</param>
    /// <param name="inputColumnNames">The model inputs, each read from the column of the same name; null for all of them.</param>
    /// <param name="mode">Static (calibrated on the data given to <c>Fit</c>, the default) or dynamic (MatMul/Gemm only, no calibration).</param>
    /// <returns>An estimator; <see cref="QuantizationEstimator.Fit"/> quantizes and returns the scoring transformer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="catalog"/> is null.</exception>
    /// <exception cref="ArgumentException">A column names no model input or output (the message lists them).</exception>
    /// <exception cref="FileNotFoundException"><paramref name="modelFile"/> does not exist.</exception>
    /// <exception cref="MLNet.Quantization.Onnx.OnnxFormatException">The file is not a valid ONNX model.</exception>
    /// <example>
    /// Dynamic quantization of a transformer, no calibration data needed:
    /// <code language="csharp">
    /// var pipeline = mlContext.Transforms.Quantize("bert.onnx", mode: QuantizationMode.Dynamic);
    /// using var model = pipeline.Fit(data);
    /// Console.WriteLine(model.QuantizationReport);   // what was quantized, what stayed float and why
    /// </code>
    /// </example>
    public static QuantizationEstimator Quantize(this TransformsCatalog catalog, string modelFile, string[]? outputColumnNames = null,
        string[]? inputColumnNames = null, QuantizationMode mode = QuantizationMode.Static) =>
        new(catalog, new QuantizationOptions
        {
            ModelFile = modelFile,
            OutputColumns = outputColumnNames,
            InputColumns = inputColumnNames,
            Mode = mode,
        });
}
