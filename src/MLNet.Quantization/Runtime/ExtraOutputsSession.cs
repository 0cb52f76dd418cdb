using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// An ONNX Runtime session that can fetch intermediate tensors: each named tensor becomes an extra graph output without
/// type information, which ORT accepts and fills in. Calibration and the numeric suite read activations this way,
/// shape inference reads the inferred output metadata, and constant folding evaluates a sub-graph's outputs.
/// </summary>
internal static class ExtraOutputsSession
{
    /// <summary>A session over a copy of <paramref name="graph"/> with <paramref name="extraOutputs"/> as extra outputs.</summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the model.</exception>
    public static InferenceSession Create(OnnxGraph graph, IEnumerable<string> extraOutputs, SessionOptions options, string modelName, string purpose) =>
        Create(graph.ToModel(), extraOutputs, options, modelName, purpose);

    /// <summary>
    /// A session over <paramref name="model"/> with <paramref name="extraOutputs"/> added as outputs, in order, each once
    /// and only when not already an output. The model's proto must be one the caller owns: it is changed.
    /// </summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the model.</exception>
    public static InferenceSession Create(OnnxModel model, IEnumerable<string> extraOutputs, SessionOptions options, string modelName, string purpose)
    {
        var outputs = model.Proto.Graph.Output;
        var declared = new HashSet<string>(outputs.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var name in extraOutputs.Where(declared.Add))
            outputs.Add(new ValueInfoProto { Name = name });
        return OrtBoundary.CreateSession(model, options, modelName, purpose);
    }
}
