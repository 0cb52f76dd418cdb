using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// An ONNX Runtime session over a graph with intermediate tensors added as (untyped) graph outputs
/// (<see cref="ExtraOutputsSession"/>), at a chosen optimization level and thread count: the calibrator's and the
/// numeric suite's way of reading any tensor ORT computes, without ORT's CPU memory arena and memory pattern.
/// </summary>
internal static class InstrumentedSession
{
    public static InferenceSession Create(OnnxGraph graph, IEnumerable<string> extraOutputs, GraphOptimizationLevel level,
        int intraOpThreads = 0, string? modelName = null, string purpose = "read its intermediate tensors", bool allowSpinning = true)
    {
        using var options = OrtSessionOptions.Create(level, intraOpThreads);
        // Every observed tensor is a graph output, so ORT cannot reuse its buffer within a run: its arena would keep the
        // largest run's blocks (grown in doublings) on top of them for the session's life, and a memory pattern would
        // plan them all ahead. Plain allocations free each intermediate as soon as its consumers are done.
        options.EnableCpuMemArena = false;
        options.EnableMemoryPattern = false;

        if (!allowSpinning)
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); // leave the cores to other work between runs
        return ExtraOutputsSession.Create(graph, extraOutputs, options, modelName ?? OrtBoundary.ModelName(graph), purpose);
    }
}
