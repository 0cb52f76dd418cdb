using System.CommandLine;
using System.Text.Json.Serialization;
using MLNet.Quantization.Diagnostics;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>quantize --speed-aware</c>: its options, the checks on them, and its part of the <c>--json</c> summary.</summary>
internal static class SpeedAwareSettings
{
    public static Option<bool> Flag() => new("--speed-aware")
    {
        Description = "Profile each Conv/ConvTranspose/Gemm/MatMul in int8 and fp32 with ONNX Runtime on this CPU and keep float those whose int8 form (with its Q/DQ) is not faster; then check the whole model against fp32. Needs --calibration-data (the first samples are timed).",
    };

    public static Option<string?> Cache() => new("--speed-cache") { Description = "Where --speed-aware keeps its measurements (default: OUTPUT.speed.json beside --output); a second run with the same model, input, threads, CPU and ONNX Runtime does not profile again." };

    public static Option<int> Batch() => new("--speed-batch") { Description = "Samples per timed run for --speed-aware.", DefaultValueFactory = _ => 1 };

    public static Option<int> Threads() => new("--speed-threads") { Description = "ONNX Runtime intra-op threads for --speed-aware's timing; 0 lets ORT choose.", DefaultValueFactory = _ => 0 };

    /// <summary>Refuses combinations --speed-aware does not support and values out of range.</summary>
    public static void Check(QuantizeCommand.Settings s)
    {
        if (!s.SpeedAware)
        {
            if (s.SpeedCache is not null || s.SpeedBatch != 1 || s.SpeedThreads != 0)
                throw new CliException("--speed-cache, --speed-batch and --speed-threads only apply with --speed-aware");
            return;
        }

        if (s.Mode == "qat")
            throw new CliException("--speed-aware works with --mode static or dynamic, not qat");
        if (s.CalibrationData is null)
            throw new CliException("--speed-aware needs --calibration-data: its first samples are the inputs it times");
        if (s.SpeedBatch < 1)
            throw new CliException($"--speed-batch must be at least 1, got {s.SpeedBatch}");
        if (s.SpeedThreads < 0)
            throw new CliException($"--speed-threads must be 0 (ONNX Runtime's choice) or more, got {s.SpeedThreads}");
        OutputPath.Check(s.SpeedCache, "--speed-cache");
    }

    /// <summary>The cache path: <c>--speed-cache</c>, or <c>OUTPUT.speed.json</c>.</summary>
    public static string CachePath(QuantizeCommand.Settings s) => s.SpeedCache ?? s.Output + ".speed.json";

    /// <summary>The decisions for the JSON summary; null when --speed-aware was not given.</summary>
    public static SpeedAwareSummary? Summary(SpeedAwareResult? result) => result is null ? null : new SpeedAwareSummary(
        result.Outcome switch { SpeedAwareOutcome.Placed => "placed", SpeedAwareOutcome.FullyQuantized => "fully_quantized", _ => "float_equivalent" },
        result.Inputs, result.KeptFloatCount, result.Decisions.Count, result.Fp32Micros, result.FullInt8Micros, result.PlacedMicros,
        Math.Round(result.MeasuringTime.TotalSeconds, 3), result.FromCache, result.CachePath);

    public static List<SpeedDecisionSummary>? Decisions(SpeedAwareResult? result) => result?.Decisions.Select(d => new SpeedDecisionSummary(
        d.NodeName, d.OpType, Math.Round(d.Int8Micros, 2), Math.Round(d.Int8KernelMicros, 2), Math.Round(d.Int8BoundaryMicros, 2),
        double.IsFinite(d.Fp32Micros) ? Math.Round(d.Fp32Micros, 2) : null, Math.Round(d.AddedIfFloatMicros, 2), d.KeptFloat ? "float" : "int8")).ToList();
}

/// <summary>Speed-aware placement in the JSON summary: the outcome and the whole-model check, times in µs.</summary>
internal sealed record SpeedAwareSummary(
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("inputs")] string Inputs,
    [property: JsonPropertyName("units_float")] int UnitsFloat,
    [property: JsonPropertyName("units_total")] int UnitsTotal,
    [property: JsonPropertyName("fp32_us")] double Fp32Micros,
    [property: JsonPropertyName("int8_us")] double Int8Micros,
    [property: JsonPropertyName("placed_us")] double? PlacedMicros,
    [property: JsonPropertyName("measuring_seconds")] double MeasuringSeconds,
    [property: JsonPropertyName("from_cache")] bool FromCache,
    [property: JsonPropertyName("cache")] string? Cache);

/// <summary>One unit's timings (µs) and decision (<c>float</c> or <c>int8</c>).</summary>
internal sealed record SpeedDecisionSummary(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("int8_us")] double Int8Micros,
    [property: JsonPropertyName("int8_kernel_us")] double Int8KernelMicros,
    [property: JsonPropertyName("int8_boundary_us")] double Int8BoundaryMicros,
    [property: JsonPropertyName("fp32_us")] double? Fp32Micros,
    [property: JsonPropertyName("added_if_float_us")] double AddedIfFloatMicros,
    [property: JsonPropertyName("decision")] string Decision);
