using BenchmarkDotNet.Attributes;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Benchmarks;

/// <summary>Observers on 1M floats: one Observe call (first batch and range-widening batch) and qparams.</summary>
[MemoryDiagnoser]
public class ObserverBenchmarks
{
    private const int N = 1_000_000;
    private float[] _data = [];
    private float[] _wider = [];
    private HistogramObserver _calibrated = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        // activation-like: mostly small, a long positive tail
        _data = Enumerable.Range(0, N).Select(_ => (float)Math.Max(0, rng.NextDouble() * rng.NextDouble() * 6 - 1)).ToArray();
        _wider = _data.Select(v => v * 1.5f - 0.25f).ToArray();
        _calibrated = new HistogramObserver();
        _calibrated.Observe(_data);
        _calibrated.Observe(_wider);
    }

    [Benchmark(Baseline = true)]
    public float MinMaxObserve()
    {
        var o = new MinMaxObserver();
        o.Observe(_data);
        return o.Max;
    }

    [Benchmark]
    public float PerChannelMinMaxObserve()
    {
        var o = new PerChannelMinMaxObserver();
        o.Observe(_data, [1000, 1000]);
        return o.Maxs![0];
    }

    [Benchmark]
    public float HistogramObserveFirstBatch()
    {
        var o = new HistogramObserver();
        o.Observe(_data);
        return o.Max;
    }

    [Benchmark]
    public float HistogramObserveTwoBatchesWidening()
    {
        var o = new HistogramObserver();
        o.Observe(_data);
        o.Observe(_wider);
        return o.Max;
    }

    [Benchmark]
    public float HistogramCalculateQParams() => _calibrated.CalculateQParams().Scale;

    [Benchmark]
    public float PercentileObserve()
    {
        var o = new PercentileObserver();
        o.Observe(_data);
        return o.ComputeRange().Max;
    }

    [Benchmark]
    public float EntropyObserveAndSearch()
    {
        var o = new EntropyObserver();
        o.Observe(_data);
        return o.ComputeRange().Max;
    }
}
