using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>The result of <see cref="PreparedModel.Convert"/>: a QDQ ONNX model and its report.</summary>
public sealed class QuantizedModel
{
    internal QuantizedModel(OnnxModel model, QuantizationReport report)
    {
        Model = model;
        Report = report;
    }

    /// <summary>The QDQ model (float inputs and outputs; int8 inside).</summary>
    public OnnxModel Model { get; }

    /// <summary>What was quantized and what stayed float.</summary>
    public QuantizationReport Report { get; }

    /// <summary>Saves the model atomically (temporary file, then rename).</summary>
    public void Save(string path, OnnxSaveOptions? options = null) => Model.Save(path, options);

    /// <summary>
    /// This model with <see cref="QuantizationReport.OrtInt8"/> counted: one ONNX Runtime optimization of the written
    /// model (and the warning when quantized compute stays unfused). <see cref="PreparedModel.Convert()"/> does it for
    /// every model; a search over trials does it once, for the model it returns.
    /// </summary>
    /// <param name="stage">Hears the step.</param>
    internal QuantizedModel WithOrtInt8Census(StageReporter stage)
    {
        stage.Step("counting the int8 kernels ONNX Runtime fuses");
        return new QuantizedModel(Model, Report.WithCensus(Int8CensusOf(Model)));
    }

    /// <summary>What ORT fuses, from its optimized graph; null when ORT cannot optimize it (the quality check said why).</summary>
    private static Runtime.OrtInt8Census? Int8CensusOf(OnnxModel model)
    {
        try
        {
            return Runtime.FusedGraphInspector.Int8Census(model.ToBytes());
        }
        catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or Graph.OnnxGraphException)
        {
            return null;
        }
    }
}
