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
}
