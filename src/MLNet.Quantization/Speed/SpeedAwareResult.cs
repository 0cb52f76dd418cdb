using System.Globalization;

namespace MLNet.Quantization.Diagnostics;

/// <summary>What <see cref="SpeedAwarePlacement"/> measured and decided, in <see cref="QuantizationReport.SpeedAware"/>.</summary>
public sealed class SpeedAwareResult
{
    internal SpeedAwareResult(IReadOnlyList<SpeedDecision> decisions, SpeedAwareOutcome outcome, double fp32Micros, double int8Micros, double? placedMicros,
        TimeSpan measuringTime, bool fromCache, string? cachePath, string inputs, string? cacheNote)
    {
        CacheNote = cacheNote;
        Decisions = decisions;
        Outcome = outcome;
        Fp32Micros = fp32Micros;
        FullInt8Micros = int8Micros;
        PlacedMicros = placedMicros;
        MeasuringTime = measuringTime;
        FromCache = fromCache;
        CachePath = cachePath;
        Inputs = inputs;
    }

    /// <summary>Every candidate unit, in graph order, with its timings and decision.</summary>
    public IReadOnlyList<SpeedDecision> Decisions { get; }

    /// <summary>Which model was returned.</summary>
    public SpeedAwareOutcome Outcome { get; }

    /// <summary>The whole-model check: the fp32 model's median run time, in µs.</summary>
    public double Fp32Micros { get; }

    /// <summary>The fully quantized model's median run time, in µs.</summary>
    public double FullInt8Micros { get; }

    /// <summary>The placed model's median run time, in µs; null when no unit was kept float.</summary>
    public double? PlacedMicros { get; }

    /// <summary>The returned model's median run time in the check, in µs.</summary>
    public double ChosenMicros => Outcome switch
    {
        SpeedAwareOutcome.Placed => PlacedMicros ?? double.NaN,
        SpeedAwareOutcome.FullyQuantized => FullInt8Micros,
        _ => Fp32Micros,
    };

    /// <summary>The time profiling and the check took (when <see cref="FromCache"/>, the time they took on the run that made the cache).</summary>
    public TimeSpan MeasuringTime { get; }

    /// <summary>True when the measurements came from <see cref="CachePath"/>, without profiling.</summary>
    public bool FromCache { get; }

    /// <summary>The cache file, or null when none was used.</summary>
    public string? CachePath { get; }

    /// <summary>Why an existing cache file was not used (made for another key or unit list), or null.</summary>
    public string? CacheNote { get; }

    /// <summary>The inputs timed, e.g. <c>x=1x3x48x192</c>.</summary>
    public string Inputs { get; }

    /// <summary>How many units were kept float.</summary>
    public int KeptFloatCount => Outcome switch
    {
        SpeedAwareOutcome.Placed => Decisions.Count(d => d.KeptFloat),
        SpeedAwareOutcome.FullyQuantized => 0,
        _ => Decisions.Count,
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"speed-aware placement on {Inputs} ({(FromCache ? $"measurements from {CachePath}" : $"measured in {MeasuringTime.TotalSeconds:F1} s")}): {KeptFloatCount} of {Decisions.Count} units float"),
        };
        if (CacheNote is not null)
            lines.Add("  note: " + CacheNote);
        lines.AddRange(Decisions.Select(d => "  " + d));
        string placed = PlacedMicros is { } p ? string.Create(c, $", placed {p:F0} µs ({Fp32Micros / p:F2}×)") : "";
        lines.Add(string.Create(c, $"  whole model: fp32 {Fp32Micros:F0} µs, int8 {FullInt8Micros:F0} µs ({Fp32Micros / FullInt8Micros:F2}×){placed} → {Outcome switch
        {
            SpeedAwareOutcome.Placed => "the placed model",
            SpeedAwareOutcome.FullyQuantized => "the fully quantized model",
            _ => "every unit float: no int8 placement beat fp32",
        }}"));
        return string.Join(Environment.NewLine, lines);
    }
}
