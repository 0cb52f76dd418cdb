using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Diagnostics;

/// <summary>Options of <see cref="AccuracyAwareQuantizer"/>.</summary>
public sealed class AccuracyAwareOptions
{
    /// <summary>The largest drop allowed, float metric minus quantized metric (a fraction for top-1, e.g. 0.005 = half a point).</summary>
    public required double MaxDrop { get; init; }

    /// <summary>
    /// The metric, higher is better: the model's first output for every evaluation sample (back to back) and the
    /// labels. Top-1 accuracy by default.
    /// </summary>
    public Func<float[], IReadOnlyList<int>, double> Metric { get; init; } = ModelRunner.TopOneAgreement;

    /// <summary>The operator types that count as layers to give back to float (default Conv, Gemm, MatMul).</summary>
    public IReadOnlySet<string> LayerOpTypes { get; init; } = new HashSet<string>(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul" };

    /// <summary>Receives one line per measurement (sensitivity and decisions).</summary>
    public IProgress<string>? Log { get; init; }
}
