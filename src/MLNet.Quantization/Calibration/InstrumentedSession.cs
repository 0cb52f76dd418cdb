using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// An ONNX Runtime session over a graph with intermediate tensors added as (untyped) graph outputs, which ORT accepts:
/// the calibrator's and the numeric suite's way of reading any tensor ORT computes.
/// </summary>
internal static class InstrumentedSession
{
    public static InferenceSession Create(OnnxGraph graph, IEnumerable<string> extraOutputs, GraphOptimizationLevel level,
        int intraOpThreads = 0, string? modelName = null, string purpose = "read its intermediate tensors", bool allowSpinning = true)
    {
        var onnxModel = graph.ToModel();
        var model = onnxModel.Proto;
        var declared = new HashSet<string>(model.Graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var t in extraOutputs.Where(declared.Add))
            model.Graph.Output.Add(new ValueInfoProto { Name = t });
        using var options = OrtSessionOptions.Create(level, intraOpThreads);
        if (!allowSpinning)
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); // leave the cores to other work between runs
        return Runtime.OrtBoundary.CreateSession(onnxModel, options, modelName ?? Runtime.OrtBoundary.ModelName(graph), purpose);
    }
}
