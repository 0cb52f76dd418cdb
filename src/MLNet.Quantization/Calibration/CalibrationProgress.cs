namespace MLNet.Quantization.Calibration;

/// <summary>Progress of calibration, reported after each batch.</summary>
/// <param name="Batches">Batches run so far.</param>
/// <param name="Samples">Samples (rows along the batch dimension) run so far.</param>
/// <param name="Elapsed">Time spent so far.</param>
public readonly record struct CalibrationProgress(int Batches, long Samples, TimeSpan Elapsed)
{
    /// <summary>
    /// The samples calibration will see in all, when known: given to <c>Calibrate</c>, counted by ML.NET's data view,
    /// or estimated from a batch collection's count and its first batch. Null when unknown.
    /// </summary>
    public long? TotalSamples { get; init; }

    /// <summary>The part done, from 0 to 1, or null when <see cref="TotalSamples"/> is unknown.</summary>
    public double? Fraction => TotalSamples is > 0 and var total ? Math.Clamp(Samples / (double)total, 0, 1) : null;

    /// <summary>
    /// The time still needed at the rate so far (elapsed per sample times the samples left), or null when
    /// <see cref="TotalSamples"/> is unknown or nothing has run yet.
    /// </summary>
    public TimeSpan? EstimatedRemaining => TotalSamples is { } total && Samples > 0
        ? TimeSpan.FromTicks((long)(Elapsed.Ticks * (double)Math.Max(0, total - Samples) / Samples))
        : null;
}
