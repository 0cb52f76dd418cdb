using MLNet.Quantization.Diagnostics;

namespace MLNet.Quantization.Speed;

/// <summary>
/// The rule of <see cref="SpeedAwarePlacement"/> on one unit's timings: it stays int8 only when its int8 form (kernel
/// plus the Q/DQ at its float boundaries) is faster than its float form (the fp32 node plus the Q/DQ that keeping it
/// float would add next to int8 neighbours). A unit with no fp32 timing (ORT removed or merged the node) stays int8.
/// </summary>
internal static class SpeedDecisionRule
{
    public static SpeedDecision Decide(string node, string opType, UnitCost int8, double? fp32Micros)
    {
        if (fp32Micros is not { } fp32)
            return new SpeedDecision(node, opType, int8.KernelMicros, int8.BoundaryMicros, double.NaN, int8.AddedIfFloatMicros, KeptFloat: false);
        double int8Total = int8.KernelMicros + int8.BoundaryMicros;
        double floatTotal = fp32 + int8.AddedIfFloatMicros;
        return new SpeedDecision(node, opType, int8.KernelMicros, int8.BoundaryMicros, fp32, int8.AddedIfFloatMicros, KeptFloat: int8Total >= floatTotal);
    }
}
