using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Runtime;

/// <summary>ONNX Runtime session settings used when this library runs a model for benchmarking or scoring.</summary>
/// <param name="OptimizationLevel">ORT graph optimization level; QDQ fusion into int8 kernels needs at least Extended.</param>
/// <param name="IntraOpThreads">Threads inside an operator; 0 lets ORT choose (one per physical core).</param>
internal sealed record SessionSettings(GraphOptimizationLevel OptimizationLevel, int IntraOpThreads)
{
    /// <summary>ORT's own defaults: every optimization, one thread per core.</summary>
    public static SessionSettings Default { get; } = new(GraphOptimizationLevel.ORT_ENABLE_ALL, 0);

    /// <summary>Creates the ORT options; the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions() => new() { GraphOptimizationLevel = OptimizationLevel, IntraOpNumThreads = IntraOpThreads };

    /// <summary>Parses <c>basic</c>, <c>extended</c>, <c>all</c> or <c>none</c>.</summary>
    public static GraphOptimizationLevel ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "none" => GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
        _ => throw new ArgumentException($"unknown optimization level '{text}'; use none, basic, extended or all", nameof(text)),
    };
}
