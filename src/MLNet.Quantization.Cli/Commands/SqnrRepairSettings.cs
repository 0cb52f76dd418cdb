using System.Text.Json.Serialization;
using MLNet.Quantization.Diagnostics;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>quantize --min-output-sqnr DB</c>: the checks on the flag, and its part of the <c>--json</c> summary.</summary>
internal static class SqnrRepairSettings
{
    /// <summary>Refuses a target that is not a finite number, or one given with a mode that has no check samples.</summary>
    public static void Check(double? minOutputSqnr, string mode, bool accuracyAware)
    {
        if (minOutputSqnr is not { } db)
            return;
        if (!double.IsFinite(db))
            throw new CliException($"--min-output-sqnr must be a number of dB, e.g. 30; got {db}");
        if (mode != "static")
            throw new CliException($"--min-output-sqnr works with --mode static (it compares int8 against float on calibration samples), not {mode}");
        if (accuracyAware)
            throw new CliException("--min-output-sqnr and --max-accuracy-drop are two targets for the same search; give one");
    }

    /// <summary>The repair's decisions for the JSON summary; null when no repair was asked for.</summary>
    public static SqnrRepairSummary? Summary(OutputSqnrRepairResult? repair) => repair is null ? null : new SqnrRepairSummary(
        repair.TargetDb, Round(repair.InitialSqnrDb), Round(repair.FinalSqnrDb), repair.TargetMet, repair.QuantizedLayerCount, repair.Layers.Count, repair.Samples,
        repair.Decisions.Select(d => new SqnrRepairDecisionSummary(d.Step, d.NodeName, d.OpType, Round(d.SqnrBeforeDb), Round(d.SqnrAfterDb))).ToList());

    private static double? Round(double db) => double.IsFinite(db) ? Math.Round(db, 4) : null;
}

/// <summary>The output-SQNR repair in the JSON summary (SQNRs in dB, null when not finite, e.g. every layer in float).</summary>
internal sealed record SqnrRepairSummary(
    [property: JsonPropertyName("target_db")] double TargetDb,
    [property: JsonPropertyName("initial_sqnr_db")] double? InitialSqnrDb,
    [property: JsonPropertyName("final_sqnr_db")] double? FinalSqnrDb,
    [property: JsonPropertyName("target_met")] bool TargetMet,
    [property: JsonPropertyName("layers_quantized")] int LayersQuantized,
    [property: JsonPropertyName("layers_total")] int LayersTotal,
    [property: JsonPropertyName("checked_samples")] long CheckedSamples,
    [property: JsonPropertyName("decisions")] List<SqnrRepairDecisionSummary> Decisions);

/// <summary>One layer the repair gave back to float, with the output SQNR before and after.</summary>
internal sealed record SqnrRepairDecisionSummary(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("sqnr_before_db")] double? SqnrBeforeDb,
    [property: JsonPropertyName("sqnr_after_db")] double? SqnrAfterDb);
