using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Runtime;

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
        using var a = new TimedSession(model, batchSize, settings, seed);
        using var b = baseline is null ? null : new TimedSession(baseline, batchSize, settings, seed);
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

    private sealed class TimedSession : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly RunOptions _run = new();
        private readonly string[] _inputNames;
        private readonly OrtValue[] _inputs;
        private readonly string[] _outputNames;

        public TimedSession(byte[] model, int batchSize, SessionSettings settings, int seed)
        {
            using var options = settings.CreateSessionOptions();
            _session = new InferenceSession(model, options);
            var rng = new Random(seed);
            _inputNames = _session.InputMetadata.Keys.ToArray();
            _inputs = _session.InputMetadata.Select(kv => RandomInput(kv.Key, kv.Value, batchSize, rng)).ToArray();
            _outputNames = _session.OutputMetadata.Keys.ToArray();
        }

        public double TimeOneRun()
        {
            long start = Stopwatch.GetTimestamp();
            using var outputs = _session.Run(_run, _inputNames, _inputs, _outputNames);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public void Dispose()
        {
            foreach (var input in _inputs)
                input.Dispose();
            _run.Dispose();
            _session.Dispose();
        }

        private static OrtValue RandomInput(string name, NodeMetadata metadata, int batchSize, Random rng)
        {
            if (metadata.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
                throw new NotSupportedException($"benchmark input '{name}' is {metadata.ElementDataType}; only float inputs are generated");
            var dims = metadata.Dimensions;
            var shape = new long[dims.Length];
            for (int d = 0; d < dims.Length; d++)
            {
                shape[d] = d == 0 && dims[d] <= 0 ? batchSize : dims[d];
                if (shape[d] <= 0)
                    throw new NotSupportedException($"benchmark input '{name}' has a symbolic dimension {d} ('{metadata.SymbolicDimensions[d]}') other than the batch; give it a fixed size");
            }

            long count = shape.Aggregate(1L, (x, y) => x * y);
            var data = new float[count];
            for (long i = 0; i < count; i++)
                data[i] = (float)(rng.NextDouble() * 2 - 1);
            return OrtValue.CreateTensorValueFromMemory(data, shape);
        }
    }
}
