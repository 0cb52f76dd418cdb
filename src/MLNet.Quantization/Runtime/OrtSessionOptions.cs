using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// The one place this library makes ONNX Runtime <see cref="SessionOptions"/>, so that every session it opens (folding,
/// shape inference, load checks, calibration, scoring, benchmarks) logs alike. ORT's own messages are about its
/// internals (for example that an NCHWc-optimized graph cannot be serialized); below <see cref="LogSeverity"/> they
/// are dropped instead of being written raw to the process's stderr.
/// </summary>
internal static class OrtSessionOptions
{
    private static int _severity = (int)OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
    private static int _defaultIntraOpThreads;

    /// <summary>The lowest severity of ORT's own log messages that reach stderr; errors by default.</summary>
    internal static OrtLoggingLevel LogSeverity
    {
        get => (OrtLoggingLevel)Volatile.Read(ref _severity);
        set => Volatile.Write(ref _severity, (int)value);
    }

    /// <summary>
    /// The intra-op thread count of sessions whose caller leaves it to ORT (0); 0, the default, keeps ORT's choice (one
    /// thread per core). A host that runs several such processes side by side on few cores, as a test run does, sets 1
    /// so that ORT's spinning worker threads do not compete for the same cores.
    /// </summary>
    internal static int DefaultIntraOpThreads
    {
        get => Volatile.Read(ref _defaultIntraOpThreads);
        set => Volatile.Write(ref _defaultIntraOpThreads, value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value)));
    }

    /// <summary>
    /// New options at <paramref name="level"/> with <paramref name="intraOpThreads"/> (0: <see cref="DefaultIntraOpThreads"/>,
    /// by default ORT's choice); the caller disposes them.
    /// </summary>
    public static SessionOptions Create(GraphOptimizationLevel level, int intraOpThreads = 0) => new()
    {
        GraphOptimizationLevel = level,
        IntraOpNumThreads = intraOpThreads > 0 ? intraOpThreads : DefaultIntraOpThreads,
        LogSeverityLevel = LogSeverity,
    };
}
