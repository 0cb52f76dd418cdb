namespace MLNet.Quantization.Diagnostics;

/// <summary>Options of <see cref="SpeedAwarePlacement"/>.</summary>
public sealed class SpeedAwareOptions
{
    /// <summary>
    /// Where the measurements are kept (a small versioned JSON file; the CLI's default is <c>OUTPUT.speed.json</c>
    /// beside the output model). Null (the default) keeps nothing: every run profiles. A file made for another model,
    /// input, thread count, CPU or ONNX Runtime version is measured again and overwritten; one that is not a valid cache
    /// is refused.
    /// </summary>
    public string? CachePath { get; init; }

    /// <summary>Samples per timed run, taken from the first calibration batch (default 1, the latency case).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>ONNX Runtime intra-op threads of the timed sessions; 0 (the default) lets ORT choose, as a scoring session does.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Runs of each model before any is measured (default 5).</summary>
    public int WarmupRuns { get; init; } = 5;

    /// <summary>Profiled runs of each model, alternating; each node's time is its median over them (default 30).</summary>
    public int ProfileRuns { get; init; } = 30;

    /// <summary>
    /// Profiling rounds at most (default 3): after the first, the placed model is profiled again while that moves more
    /// units to float, since a unit left int8 between float neighbours has new boundaries to pay.
    /// </summary>
    public int MaxRounds { get; init; } = 3;

    /// <summary>Timed runs of each model in the whole-model check, alternating; medians are compared (default 60).</summary>
    public int CheckRuns { get; init; } = 60;

    /// <summary>
    /// The time one profiling round may take (default 10 s; the whole-model check may take twice that): a model whose
    /// runs are long stops after at least 7 measured runs of each model once it is spent, before
    /// <see cref="ProfileRuns"/> or <see cref="CheckRuns"/>.
    /// </summary>
    public TimeSpan RoundBudget { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receives one line per decision, and a note when the cache is not used.</summary>
    public IProgress<string>? Log { get; init; }

    internal void Check()
    {
        if (BatchSize < 1)
            throw new ArgumentException($"SpeedAwareOptions.BatchSize must be at least 1, got {BatchSize}.");
        if (IntraOpThreads < 0)
            throw new ArgumentException($"SpeedAwareOptions.IntraOpThreads must be 0 (ORT's choice) or more, got {IntraOpThreads}.");
        if (WarmupRuns < 0 || ProfileRuns < 1 || CheckRuns < 1 || MaxRounds < 1 || RoundBudget <= TimeSpan.Zero)
            throw new ArgumentException($"SpeedAwareOptions needs WarmupRuns ≥ 0, ProfileRuns, CheckRuns, MaxRounds ≥ 1 and a positive RoundBudget; got {WarmupRuns}, {ProfileRuns}, {CheckRuns}, {MaxRounds}, {RoundBudget}.");
    }
}

/// <summary>Which model <see cref="SpeedAwarePlacement"/> returned.</summary>
public enum SpeedAwareOutcome
{
    /// <summary>The units that do not pay in float, the rest int8: faster than the fully quantized model and not slower than fp32.</summary>
    Placed,

    /// <summary>Every unit int8: no unit was kept float, or the placed model was not faster than the fully quantized one.</summary>
    FullyQuantized,

    /// <summary>Every unit float: both int8 models were slower than fp32.</summary>
    FloatEquivalent,
}
