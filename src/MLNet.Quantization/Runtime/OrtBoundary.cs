using Microsoft.ML.OnnxRuntime;
using Google.Protobuf;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// The one place models are handed to ONNX Runtime. ORT's own <see cref="OnnxRuntimeException"/> never escapes: a model
/// ORT cannot load or run becomes an <see cref="OnnxGraphException"/> naming the model and what it was for (ORT's
/// message names the node). ORT's native log is limited to fatal messages, so the exception is the only report.
/// </summary>
internal static class OrtBoundary
{
    /// <summary>Creates a session over <paramref name="model"/>; <paramref name="purpose"/> completes "to ...".</summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the model.</exception>
    internal static InferenceSession CreateSession(byte[] model, SessionOptions options, string modelName, string purpose)
    {
        OrtTelemetry.DisableEvents();
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxGraphException($"ONNX Runtime cannot load model '{modelName}' to {purpose}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Creates a session over <paramref name="model"/> after inlining every external tensor through the model's checked
    /// external-data store, so that ORT never resolves a relative location against the current directory.
    /// The model's proto must be one the caller owns (a fresh copy such as <see cref="OnnxGraph.ToModel"/> returns).
    /// </summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the model.</exception>
    internal static InferenceSession CreateSession(Onnx.OnnxModel model, SessionOptions options, string modelName, string purpose)
    {
        Onnx.ExternalDataInliner.InlineAll(model.Proto, model);
        return CreateSession(model.Proto.ToByteArray(), options, modelName, purpose);
    }

    /// <summary>
    /// Checks that ONNX Runtime loads the graph (without optimizing it), so that a model ORT cannot run is refused
    /// before quantizing rather than written out. Skipped for models with external data, which ORT would read whole.
    /// </summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the model.</exception>
    internal static void CheckLoads(OnnxGraph graph, string purpose)
    {
        if (graph.Source?.UsesExternalData == true)
            return;
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_DISABLE_ALL);
        using var session = CreateSession(graph.ToModel().ToBytes(), options, ModelName(graph), purpose);
    }

    /// <summary>
    /// Checks that ONNX Runtime loads a graph after MLNet.Quantization converted its opset (the original having loaded),
    /// so that a rejection is reported as a conversion fault, naming the op ORT named, not as an invalid user model.
    /// </summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime rejected the converted model.</exception>
    internal static void CheckLoadsAfterConversion(OnnxGraph graph, long sourceOpset, long targetOpset)
    {
        try
        {
            CheckLoads(graph, "check it after opset conversion");
        }
        catch (OnnxGraphException e) when (e.InnerException is OnnxRuntimeException ort)
        {
            throw new OnnxGraphException(
                $"ONNX Runtime loads model '{ModelName(graph)}' as given but rejected it after MLNet.Quantization's opset conversion from {sourceOpset} to {targetOpset}; this is a fault of the converter, not of the model: {OneLine(ort.Message)}", e);
        }
    }

    /// <summary>Runs <paramref name="run"/>, turning ORT failures into <see cref="OnnxGraphException"/>.</summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime failed while running the model.</exception>
    internal static T Run<T>(Func<T> run, string modelName, string purpose) => Run(run, modelName, purpose, CancellationToken.None);

    /// <summary>
    /// Runs <paramref name="run"/>, turning ORT failures into <see cref="OnnxGraphException"/>, and the failure of a run
    /// that <paramref name="cancellationToken"/> terminated (see <see cref="CancellableRunOptions"/>) into an
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="OnnxGraphException">ONNX Runtime failed while running the model.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the run.</exception>
    internal static T Run<T>(Func<T> run, string modelName, string purpose, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return run();
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"Cancelled while ONNX Runtime ran model '{modelName}' to {purpose}.", e, cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxGraphException($"ONNX Runtime failed running model '{modelName}' to {purpose}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>The name of the model a graph came from, for messages.</summary>
    internal static string ModelName(OnnxGraph graph) => graph.Source?.DisplayName ?? (graph.Name.Length > 0 ? graph.Name : "<model>");

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
