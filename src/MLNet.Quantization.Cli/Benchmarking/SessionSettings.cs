using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Cli.Benchmarking;

/// <summary>ONNX Runtime session settings used when this library runs a model for benchmarking or scoring.</summary>
/// <param name="OptimizationLevel">ORT graph optimization level; QDQ fusion into int8 kernels needs at least Extended.</param>
/// <param name="IntraOpThreads">Threads inside an operator; 0 lets ORT choose (one per physical core).</param>
/// <param name="AllowSpinning">
/// ORT's intra-op workers spin after each parallel section before sleeping. Two sessions timed alternately steal each
/// other's cores while spinning; turning it off measures each model without that interference.
/// </param>
internal sealed record SessionSettings(GraphOptimizationLevel OptimizationLevel, int IntraOpThreads, bool AllowSpinning = true)
{
    /// <summary>ORT's own defaults: every optimization, one thread per core.</summary>
    public static SessionSettings Default { get; } = new(GraphOptimizationLevel.ORT_ENABLE_ALL, 0);

    /// <summary>Creates the ORT options; the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions()
    {
        var options = OrtSessionOptions.Create(OptimizationLevel, IntraOpThreads);
        if (!AllowSpinning)
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

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
