using System.Globalization;
using System.Text;

namespace MLNet.Quantization;

/// <summary>A node left in float, and why.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="Reason">Why it stayed float.</param>
public sealed record FloatNode(string Name, string OpType, string Reason);

/// <summary>The batch facts of a conversion, for <see cref="QuantizationReport"/>.</summary>
internal sealed record BatchSummary(int? FixedBatchSize, string Note, int LargestCalibrationBatch);

/// <summary>What a conversion quantized, what it left in float and why, and the model size before and after.</summary>
public sealed class QuantizationReport
{
    internal QuantizationReport(string mode, IReadOnlyDictionary<string, int> quantized, IReadOnlyList<FloatNode> leftInFloat, long floatBytes, long quantizedBytes, TimeSpan calibrationTime, long calibrationSamples,
        BatchSummary? batch = null, IReadOnlyList<string>? warnings = null, QualityFigures? quality = null)
    {
        Warnings = warnings ?? [];
        quality ??= QualityFigures.None;
        OutputSqnrDb = quality.OutputSqnrDb;
        CheckedSamples = quality.Samples;
        WorstActivations = quality.WorstActivations;
        WeakWeights = quality.WeakWeights;
        FixedBatchSize = batch?.FixedBatchSize;
        BatchDimension = batch?.Note ?? "";
        CalibrationBatchSize = batch?.LargestCalibrationBatch ?? 0;
        Mode = mode;
        QuantizedNodesByOpType = quantized;
        NodesLeftInFloat = leftInFloat;
        FloatModelBytes = floatBytes;
        QuantizedModelBytes = quantizedBytes;
        CalibrationTime = calibrationTime;
        CalibrationSamples = calibrationSamples;
    }

    /// <summary><c>static</c> or <c>dynamic</c>: the mode the quantizer was asked for.</summary>
    public string Mode { get; }

    /// <summary>
    /// What the user should know about this conversion, one sentence each: for example that dynamic mode found nothing it
    /// can quantize. The CLI prints them as <c>warning:</c> lines on stderr. Empty when all is well.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; private set; }

    /// <summary>
    /// What the output-SQNR repair (<see cref="Diagnostics.OutputSqnrRepair"/>, <c>--min-output-sqnr</c>) gave back to
    /// float, with the output SQNR before and after each decision; null when no repair was asked for.
    /// </summary>
    public Diagnostics.OutputSqnrRepairResult? Repair { get; private set; }

    /// <summary>
    /// What speed-aware placement (<see cref="Diagnostics.SpeedAwarePlacement"/>, <c>--speed-aware</c>) measured for each
    /// unit and kept float; null when it was not asked for.
    /// </summary>
    public Diagnostics.SpeedAwareResult? SpeedAware { get; private set; }

    /// <summary>
    /// The lowest SQNR over the model's float outputs, int8 (as ONNX Runtime runs it) against float, in dB, measured on
    /// <see cref="CheckedSamples"/> of the calibration samples after convert; null when nothing was checked (dynamic
    /// mode, or <see cref="PrepareOptions.QualityCheckSamples"/> = 0). Above 30 dB the outputs agree closely; below
    /// <see cref="PrepareOptions.OutputSqnrWarningDb"/> (15 dB) a warning names the worst quantization points.
    /// </summary>
    public double? OutputSqnrDb { get; }

    /// <summary>
    /// How many layers bias correction corrected (<see cref="PrepareOptions.BiasCorrection"/>): Conv, ConvTranspose,
    /// Gemm and MatMul layers with an int8 weight whose bias now cancels the weight error's mean effect; null when bias
    /// correction was not asked for.
    /// </summary>
    public int? BiasCorrectedLayers { get; internal init; }

    /// <summary>
    /// How many Conv → Conv pairs cross-layer equalization equalized (<see cref="PrepareOptions.CrossLayerEqualization"/>);
    /// null when it was not asked for.
    /// </summary>
    public int? EqualizedPairs { get; internal init; }

    /// <summary>
    /// How many MatMul/Gemm nodes SmoothQuant smoothed (<see cref="PrepareOptions.SmoothQuantAlpha"/>); null when it
    /// was not asked for.
    /// </summary>
    public int? SmoothedLayers { get; internal init; }

    /// <summary>Calibration samples float and int8 were compared on after convert (0 when not checked).</summary>
    public long CheckedSamples { get; }

    /// <summary>The activation quantization points with the lowest SQNR in that check, worst first (at most five).</summary>
    public IReadOnlyList<Diagnostics.ActivationSqnr> WorstActivations { get; }

    /// <summary>Quantized weights whose SQNR is below <see cref="PrepareOptions.WeightSqnrWarningDb"/>, worst first; each is also in <see cref="Warnings"/>.</summary>
    public IReadOnlyList<Diagnostics.WeightSqnr> WeakWeights { get; }

    /// <summary>
    /// What ONNX Runtime runs in int8 after optimizing the written model: its int8 kernels by op type (QLinearConv,
    /// QLinearMatMul, QGemm, ...) and the quantized nodes it could not fuse and runs in float on dequantized inputs.
    /// This is the speed that was bought; <see cref="QuantizedNodesByOpType"/> is what was annotated. Null when ORT
    /// could not optimize the model.
    /// </summary>
    public Runtime.OrtInt8Census? OrtInt8 { get; private set; }

    /// <summary>Quantized compute nodes (those with a quantized weight or activation input), counted by op type.</summary>
    public IReadOnlyDictionary<string, int> QuantizedNodesByOpType { get; }

    /// <summary>Nodes the quantizer left in float, with the reason.</summary>
    public IReadOnlyList<FloatNode> NodesLeftInFloat { get; }

    /// <summary>Serialized size of the float model.</summary>
    public long FloatModelBytes { get; }

    /// <summary>Serialized size of the quantized model.</summary>
    public long QuantizedModelBytes { get; }

    /// <summary>Float size over quantized size.</summary>
    public double CompressionRatio => QuantizedModelBytes == 0 ? 0 : (double)FloatModelBytes / QuantizedModelBytes;

    /// <summary>Time spent calibrating (zero for dynamic mode).</summary>
    public TimeSpan CalibrationTime { get; }

    /// <summary>Samples seen during calibration.</summary>
    public long CalibrationSamples { get; }

    /// <summary>
    /// The batch size the quantized model requires, or null when it takes any batch size. A model whose inputs fix the
    /// batch (e.g. at 1) is made symbolic when its graph allows it (checked in ONNX Runtime, see
    /// <see cref="PrepareOptions.RelaxFixedBatch"/>); otherwise this is that size, and calibration and scoring ran that
    /// many samples per run.
    /// </summary>
    public int? FixedBatchSize { get; }

    /// <summary>What was done about a fixed batch dimension and why, in one sentence; empty when the model's batch was symbolic already.</summary>
    public string BatchDimension { get; }

    /// <summary>The most samples calibration fed in one ONNX Runtime run (0 when nothing was calibrated).</summary>
    public int CalibrationBatchSize { get; }

    /// <summary>
    /// The conversion multiplies uint8 activations by int8 weights on more than 7 bits each, which saturates on x86 CPUs
    /// without VNNI (see <see cref="ReportWarnings.Saturating"/>).
    /// </summary>
    internal bool FullRangeProducts { get; init; }

    /// <summary>A copy carrying ORT's int8 census, its warning when quantized compute stays unfused, and the one when this CPU's uint8 × int8 kernels saturate.</summary>
    internal QuantizationReport WithCensus(Runtime.OrtInt8Census? census)
    {
        var copy = (QuantizationReport)MemberwiseClone();
        copy.OrtInt8 = census;
        copy.Warnings = [.. Warnings, .. ReportWarnings.Unfused(census), .. ReportWarnings.Saturating(census, FullRangeProducts, OutputSqnrDb, () => Runtime.OrtU8S8Probe.IsExact)];
        return copy;
    }

    /// <summary>A copy carrying the repair's decisions, and its warning when the target was not met.</summary>
    internal QuantizationReport WithRepair(Diagnostics.OutputSqnrRepairResult repair)
    {
        var copy = (QuantizationReport)MemberwiseClone();
        copy.Repair = repair;
        copy.Warnings = repair.Warning is { } warning ? [.. Warnings, warning] : Warnings;
        return copy;
    }

    /// <summary>A copy carrying the speed-aware decisions.</summary>
    internal QuantizationReport WithSpeedAware(Diagnostics.SpeedAwareResult speedAware)
    {
        var copy = (QuantizationReport)MemberwiseClone();
        copy.SpeedAware = speedAware;
        return copy;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"mode: {Mode}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"quantized: {string.Join(", ", QuantizedNodesByOpType.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"))}");
        if (OrtInt8 is not null)
            sb.AppendLine(CultureInfo.InvariantCulture, $"ONNX Runtime int8 kernels: {OrtInt8}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"left in float: {NodesLeftInFloat.Count}");
        foreach (var group in NodesLeftInFloat.GroupBy(n => (n.OpType, n.Reason)).OrderBy(g => g.Key.OpType, StringComparer.Ordinal))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {group.Key.OpType} ×{group.Count()}: {group.Key.Reason}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"size: {FloatModelBytes:N0} → {QuantizedModelBytes:N0} bytes ({CompressionRatio:F2}× smaller)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"batch: {(FixedBatchSize is { } b ? $"fixed at {b}" : "any size")}{(BatchDimension.Length > 0 ? $" ({BatchDimension})" : "")}");
        if (CalibrationSamples > 0)
            sb.AppendLine(CultureInfo.InvariantCulture, $"calibration: {CalibrationSamples} samples in {CalibrationTime.TotalSeconds:F2} s, up to {CalibrationBatchSize} per run");
        if (OutputSqnrDb is { } db)
        {
            string worst = WorstActivations.Count > 0
                ? string.Create(CultureInfo.InvariantCulture, $" (worst activation '{WorstActivations[0].Tensor}' {WorstActivations[0].SqnrDb:F2} dB)")
                : "";
            sb.AppendLine(CultureInfo.InvariantCulture, $"output SQNR: {db:F2} dB, int8 against float on {CheckedSamples} calibration samples{worst}");
        }
        if (BiasCorrectedLayers is { } corrected)
            sb.AppendLine(CultureInfo.InvariantCulture, $"bias correction: {corrected} layers");
        if (EqualizedPairs is { } equalized)
            sb.AppendLine(CultureInfo.InvariantCulture, $"cross-layer equalization: {equalized} conv pairs");
        if (SmoothedLayers is { } smoothed)
            sb.AppendLine(CultureInfo.InvariantCulture, $"SmoothQuant: {smoothed} MatMul/Gemm layers smoothed");
        if (Repair is not null)
            sb.AppendLine(Repair.ToString());
        if (SpeedAware is not null)
            sb.AppendLine(SpeedAware.ToString());
        foreach (var warning in Warnings)
            sb.AppendLine(CultureInfo.InvariantCulture, $"warning: {warning}");
        return sb.ToString().TrimEnd();
    }
}
