using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>What the check after convert measured: the outputs on kept calibration samples, and every quantized weight.</summary>
/// <param name="OutputSqnrDb">The first float output's SQNR, int8 against float, or null when no samples were kept.</param>
/// <param name="Samples">Samples the outputs were compared on.</param>
/// <param name="WorstActivations">The quantization points with the lowest SQNR, worst first (at most five).</param>
/// <param name="WeakWeights">Quantized weights below the weight threshold, worst first.</param>
/// <param name="Warnings">One sentence per finding that needs the user's attention.</param>
internal sealed record QualityFigures(double? OutputSqnrDb, long Samples, IReadOnlyList<ActivationSqnr> WorstActivations, IReadOnlyList<WeightSqnr> WeakWeights, IReadOnlyList<string> Warnings)
{
    public static QualityFigures None { get; } = new(null, 0, [], [], []);
}

/// <summary>
/// The check that runs after <see cref="PreparedModel.Convert"/> so that a collapsed model never passes silently: the
/// SQNR of every quantized weight (cheap, always), and float against int8 on a few calibration samples with the
/// numeric suite, warning below <see cref="PrepareOptions.OutputSqnrWarningDb"/> with the worst quantization points.
/// </summary>
internal static class QualityCheck
{
    private const int WorstListed = 5;

    /// <summary>Checks <paramref name="quantized"/> against <paramref name="floatGraph"/>; <paramref name="samples"/> is empty or yields at least one run.</summary>
    public static QualityFigures Run(OnnxGraph floatGraph, OnnxGraph quantized, IEnumerable<IReadOnlyList<NamedTensor>> samples, bool hasSamples, PrepareOptions options)
    {
        var warnings = new List<string>();
        var (weights, _) = WeightComparison.Compare(floatGraph, quantized);
        var weak = weights.Where(w => w.Role == "weight" && w.SqnrDb < options.WeightSqnrWarningDb).OrderBy(w => w.SqnrDb).ToList();
        if (weak.Count > 0)
        {
            warnings.Add($"{weak.Count} quantized weight(s) below {F(options.WeightSqnrWarningDb)} dB SQNR, worst: "
                + string.Join(", ", weak.Take(WorstListed).Select(w => $"'{w.FloatName}' of node '{w.NodeName}' {F(w.SqnrDb)} dB"))
                + "; leave those nodes in float (exclude them) if the output suffers");
        }

        if (!hasSamples || floatGraph.Outputs.Count == 0)
            return new QualityFigures(null, 0, [], weak, warnings);
        List<ActivationSqnr> activations;
        List<OutputSqnr> outputs;
        long count;
        try
        {
            (activations, outputs, _, count) = new ActivationComparison(floatGraph.Clone(), quantized).Run(samples, CancellationToken.None);
        }
        catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or OnnxGraphException)
        {
            // The model itself converted; a check that cannot run must say so, not take the result away.
            warnings.Add($"the int8-against-float check could not run, so the output SQNR is unknown: {e.Message.ReplaceLineEndings(" ")}");
            return new QualityFigures(null, 0, [], weak, warnings);
        }

        double? outputSqnr = outputs.Count > 0 ? outputs.Min(o => o.SqnrDb) : null;
        var worst = activations.OrderBy(a => a.SqnrDb).Take(WorstListed).ToList();
        if (outputSqnr is { } db && !(db >= options.OutputSqnrWarningDb))
        {
            warnings.Add($"the int8 output differs from float: output SQNR {F(db)} dB on {count} calibration samples, below {F(options.OutputSqnrWarningDb)} dB; "
                + $"worst quantization points: {string.Join(", ", worst.Select(a => $"'{a.Tensor}' (from '{a.Producer}') {F(a.SqnrDb)} dB"))}. "
                + "Leave them in float (exclude their consumers), try another activation observer, or check the calibration data");
        }

        return new QualityFigures(outputSqnr, count, worst, weak, warnings);
    }

    private static string F(double db) => db.ToString("F2", CultureInfo.InvariantCulture);
}
