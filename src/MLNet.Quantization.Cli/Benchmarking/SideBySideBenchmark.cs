using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Cli.Benchmarking;

/// <summary>Latency of one model, and of an optional baseline measured in the same run, at one batch size.</summary>
/// <param name="BatchSize">Samples per run.</param>
/// <param name="MedianMs">Median milliseconds per run of the model.</param>
/// <param name="BaselineMedianMs">Median milliseconds per run of the baseline, when there is one.</param>
/// <param name="Iterations">Timed runs per model.</param>
internal sealed record BenchmarkResult(int BatchSize, double MedianMs, double? BaselineMedianMs, int Iterations)
{
    /// <summary>Samples per second of the model.</summary>
    public double Throughput => BatchSize * 1000 / MedianMs;

    /// <summary>Samples per second of the baseline.</summary>
    public double? BaselineThroughput => BatchSize * 1000 / BaselineMedianMs;

    /// <summary>Baseline median over model median: above 1 when the model is faster.</summary>
    public double? SpeedUp => BaselineMedianMs / MedianMs;
}

/// <summary>
/// Times a model against a baseline side by side: both sessions exist at once, the runs alternate in ABBA order (so a
/// drift in machine load hits both alike), and the medians are compared. Inputs are random floats bound once per
/// session; each run reads them from the same OrtValue, so the figure is ORT's time plus a fixed small call overhead.
/// </summary>
internal static class SideBySideBenchmark
{
    /// <summary>Measures <paramref name="model"/> (and <paramref name="baseline"/>) at <paramref name="batchSize"/>.</summary>
    public static BenchmarkResult Run(byte[] model, byte[]? baseline, int batchSize, int iterations, int warmup = 5,
        SessionSettings? settings = null, IProgress<int>? progress = null, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        settings ??= SessionSettings.Default;
        using var a = new BoundSession(model, batchSize, settings, seed);
        using var b = baseline is null ? null : new BoundSession(baseline, batchSize, settings, seed);
        var timesA = new List<double>(iterations);
        var timesB = new List<double>(iterations);
        for (int i = 0; i < warmup + iterations; i++)
        {
            bool baselineFirst = (i & 1) == 1; // A B, B A, A B, ...
            double ta = 0, tb = 0;
            if (baselineFirst && b is not null)
                tb = b.TimeOneRun();
            ta = a.TimeOneRun();
            if (!baselineFirst && b is not null)
                tb = b.TimeOneRun();
            if (i >= warmup)
            {
                timesA.Add(ta);
                timesB.Add(tb);
            }

            progress?.Report(i + 1);
        }

        return new BenchmarkResult(batchSize, Median(timesA), b is null ? null : Median(timesB), iterations);
    }

    /// <summary>The median of the values (the upper one for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
