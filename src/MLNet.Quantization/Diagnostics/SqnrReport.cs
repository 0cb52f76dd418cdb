using System.Globalization;
using System.Text;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// The numeric suite's result: the SQNR of every quantized weight and of every activation at its quantization point,
/// worst first, the SQNR and top-1 agreement of the model outputs, and the quantized tensors left unmatched.
/// </summary>
public sealed class SqnrReport
{
    internal SqnrReport(IEnumerable<WeightSqnr> weights, IEnumerable<ActivationSqnr> activations, IReadOnlyList<OutputSqnr> outputs, IReadOnlyList<UnmatchedTensor> unmatched, long samples)
    {
        Weights = weights.OrderBy(w => w.SqnrDb).ThenBy(w => w.QuantizedName, StringComparer.Ordinal).ToList();
        Activations = activations.OrderBy(a => a.SqnrDb).ThenBy(a => a.Tensor, StringComparer.Ordinal).ToList();
        Outputs = outputs;
        Unmatched = unmatched;
        Samples = samples;
    }

    /// <summary>Quantized weights and biases, lowest SQNR first.</summary>
    public IReadOnlyList<WeightSqnr> Weights { get; }

    /// <summary>Activations at their quantization points, lowest SQNR first.</summary>
    public IReadOnlyList<ActivationSqnr> Activations { get; }

    /// <summary>The model outputs present in both models.</summary>
    public IReadOnlyList<OutputSqnr> Outputs { get; }

    /// <summary>Quantized tensors with no float counterpart (reported rather than guessed).</summary>
    public IReadOnlyList<UnmatchedTensor> Unmatched { get; }

    /// <summary>Samples compared (0 for a weights-only comparison).</summary>
    public long Samples { get; }

    /// <summary>The first model output's SQNR in dB, or NaN without outputs.</summary>
    public double OutputSqnrDb => Outputs.Count > 0 ? Outputs[0].SqnrDb : double.NaN;

    /// <summary>The first model output's top-1 agreement, or <c>null</c>.</summary>
    public double? Top1Agreement => Outputs.Count > 0 ? Outputs[0].Top1Agreement : null;

    /// <summary>Formats a dB figure: two decimals, or inf / -inf / nan.</summary>
    public static string FormatDb(double db) => db switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        double.NaN => "nan",
        _ => db.ToString("F2", CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var o in Outputs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"output {o.Name}: SQNR {FormatDb(o.SqnrDb)} dB");
            sb.AppendLine(o.Top1Agreement is { } a ? string.Create(CultureInfo.InvariantCulture, $", top-1 agreement {a:F4} over {Samples} samples") : "");
        }

        if (Activations.Count > 0)
        {
            sb.AppendLine("activations (SQNR dB, worst first):");
            foreach (var a in Activations)
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {FormatDb(a.SqnrDb),8}  {a.Tensor} → {string.Join(", ", a.Consumers)}");
        }

        if (Weights.Count > 0)
        {
            sb.AppendLine("weights (SQNR dB, worst channel; worst first):");
            foreach (var w in Weights)
            {
                string channel = w.WorstChannel is { } c ? string.Create(CultureInfo.InvariantCulture, $"{FormatDb(w.WorstChannelSqnrDb),8} (channel {c})") : "";
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {FormatDb(w.SqnrDb),8}  {channel}  {w.FloatName} ({w.Role} of {w.OpType} '{w.NodeName}')");
            }
        }

        foreach (var u in Unmatched)
            sb.AppendLine(CultureInfo.InvariantCulture, $"unmatched {u.Name}: {u.Reason}");
        return sb.ToString().TrimEnd();
    }
}
