using System.Globalization;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// What <see cref="SpeedAwarePlacement"/> measured for one candidate unit and what it decided, in µs (medians over the
/// profiled runs, ONNX Runtime's profiler on this CPU).
/// </summary>
/// <param name="NodeName">The unit's Conv, ConvTranspose, Gemm or MatMul node.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="Int8KernelMicros">Its int8 kernel (QLinearConv, QGemm, ...) with the layout nodes ORT put around it.</param>
/// <param name="Int8BoundaryMicros">The QuantizeLinear/DequantizeLinear at its float boundaries in the int8 model, which keeping it float removes.</param>
/// <param name="Fp32Micros">The same node in the fp32 model (with its fused activation and NCHWc reorders).</param>
/// <param name="AddedIfFloatMicros">The QuantizeLinear/DequantizeLinear keeping it float would add next to int8 neighbours (estimated from ORT's per-element Q/DQ cost).</param>
/// <param name="KeptFloat">True when the unit stays float.</param>
public sealed record SpeedDecision(string NodeName, string OpType, double Int8KernelMicros, double Int8BoundaryMicros, double Fp32Micros, double AddedIfFloatMicros, bool KeptFloat)
{
    /// <summary>What the unit costs in int8: kernel and boundaries.</summary>
    public double Int8Micros => Int8KernelMicros + Int8BoundaryMicros;

    /// <summary>What it costs in float: the fp32 node and the boundaries it would add.</summary>
    public double FloatMicros => Fp32Micros + AddedIfFloatMicros;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{OpType} '{NodeName}': int8 {Int8Micros:F1} µs ({Int8KernelMicros:F1} kernel + {Int8BoundaryMicros:F1} Q/DQ) vs float {FloatMicros:F1} µs ({Fp32Micros:F1} fp32 + {AddedIfFloatMicros:F1} added Q/DQ) → {(KeptFloat ? "float" : "int8")}");
}
