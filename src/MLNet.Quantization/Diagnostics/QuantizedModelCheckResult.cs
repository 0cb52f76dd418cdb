using System.Globalization;
using System.Text;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// The float and the int8 model side by side on the same labelled samples: output SQNR, top-1 agreement, the task metric
/// of both, and the worst layers. The <c>Ensure…</c> methods turn it into a gate for a test suite: each returns the
/// result when the bar is cleared and throws <see cref="QuantizationGateException"/> (naming the worst layers) when not.
/// </summary>
/// <example>
/// <code>
/// QuantizedModelCheck.Run(floatModel, int8Model, evaluation)
///     .EnsureOutputSqnrAtLeast(20)
///     .EnsureTop1AgreementAtLeast(0.99)
///     .EnsureMetricDropAtMost(0.005);
/// </code>
/// </example>
public sealed class QuantizedModelCheckResult
{
    internal QuantizedModelCheckResult(SqnrReport report, double floatMetric, double quantizedMetric, string metricName, int worstLayerCount)
    {
        Report = report;
        FloatMetric = floatMetric;
        QuantizedMetric = quantizedMetric;
        MetricName = metricName;
        WorstLayers = report.Activations.Take(worstLayerCount).ToList();
        WorstWeights = report.Weights.Take(worstLayerCount).ToList();
    }

    /// <summary>The full numeric-suite report (every activation and weight, worst first).</summary>
    public SqnrReport Report { get; }

    /// <summary>SQNR of the model's first output, float against int8 as deployed, in dB.</summary>
    public double OutputSqnrDb => Report.OutputSqnrDb;

    /// <summary>Share of samples whose arg-max agrees, or <c>null</c> when the first output is not [N, classes].</summary>
    public double? Top1Agreement => Report.Top1Agreement;

    /// <summary>The task metric of the float model.</summary>
    public double FloatMetric { get; }

    /// <summary>The task metric of the int8 model.</summary>
    public double QuantizedMetric { get; }

    /// <summary>Float metric minus int8 metric (positive when quantization lost something).</summary>
    public double MetricDrop => FloatMetric - QuantizedMetric;

    /// <summary>The metric's name, as given in the options.</summary>
    public string MetricName { get; }

    /// <summary>Samples compared.</summary>
    public long Samples => Report.Samples;

    /// <summary>The activations with the lowest SQNR at their quantization points, worst first: where the error enters.</summary>
    public IReadOnlyList<ActivationSqnr> WorstLayers { get; }

    /// <summary>The quantized weights with the lowest SQNR, worst first.</summary>
    public IReadOnlyList<WeightSqnr> WorstWeights { get; }

    /// <summary>Throws unless the output SQNR is at least <paramref name="minDb"/> dB.</summary>
    /// <exception cref="QuantizationGateException">The bar is missed; the message names the worst layers.</exception>
    public QuantizedModelCheckResult EnsureOutputSqnrAtLeast(double minDb) => Ensure(new QuantizationGate { MinOutputSqnrDb = minDb });

    /// <summary>Throws unless the top-1 agreement is at least <paramref name="minAgreement"/> (0..1).</summary>
    /// <exception cref="QuantizationGateException">The bar is missed, or the output has no class dimension.</exception>
    public QuantizedModelCheckResult EnsureTop1AgreementAtLeast(double minAgreement) => Ensure(new QuantizationGate { MinTop1Agreement = minAgreement });

    /// <summary>Throws unless the metric drops by at most <paramref name="maxDrop"/> (0.005 = half a point of top-1).</summary>
    /// <exception cref="QuantizationGateException">The bar is missed; the message names the worst layers.</exception>
    public QuantizedModelCheckResult EnsureMetricDropAtMost(double maxDrop) => Ensure(new QuantizationGate { MaxMetricDrop = maxDrop });

    /// <summary>Checks every bar of <paramref name="gate"/> and throws once, listing all the bars missed.</summary>
    /// <returns>This result, for chaining.</returns>
    /// <exception cref="QuantizationGateException">One or more bars are missed (a NaN figure misses its bar).</exception>
    public QuantizedModelCheckResult Ensure(QuantizationGate gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        var c = CultureInfo.InvariantCulture;
        var failures = new List<string>();
        if (gate.MinOutputSqnrDb is { } minDb && !(OutputSqnrDb >= minDb))
            failures.Add(string.Create(c, $"output SQNR {SqnrReport.FormatDb(OutputSqnrDb)} dB is below {SqnrReport.FormatDb(minDb)} dB"));
        if (gate.MinTop1Agreement is { } minAgreement)
        {
            if (Top1Agreement is not { } agreement)
                failures.Add("top-1 agreement cannot be measured: the first output is not of shape [N, classes]");
            else if (!(agreement >= minAgreement))
                failures.Add(string.Create(c, $"top-1 agreement {agreement:P2} is below {minAgreement:P2}"));
        }

        if (gate.MaxMetricDrop is { } maxDrop && !(MetricDrop <= maxDrop))
            failures.Add(string.Create(c, $"{MetricName} dropped by {MetricDrop:F4} (float {FloatMetric:F4}, int8 {QuantizedMetric:F4}), more than {maxDrop:F4}"));
        if (failures.Count > 0)
            throw new QuantizationGateException(this, failures);
        return this;
    }

    /// <summary>The figures and the worst layers, a few lines of text (what a failure message carries).</summary>
    public string Summary()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"over {Samples} samples: output SQNR {SqnrReport.FormatDb(OutputSqnrDb)} dB");
        sb.Append(Top1Agreement is { } a ? string.Create(c, $", top-1 agreement {a:P2}") : "");
        sb.AppendLine(string.Create(c, $", {MetricName} float {FloatMetric:F4} int8 {QuantizedMetric:F4} (drop {MetricDrop:F4})"));
        if (WorstLayers.Count > 0)
        {
            sb.AppendLine("worst layers (activation SQNR at the quantization point):");
            foreach (var l in WorstLayers)
                sb.AppendLine(string.Create(c, $"  {SqnrReport.FormatDb(l.SqnrDb),8} dB  {l.Tensor} from {l.Producer} into {string.Join(", ", l.Consumers)}"));
        }

        if (WorstWeights.Count > 0)
        {
            sb.AppendLine("worst weights:");
            foreach (var w in WorstWeights)
                sb.AppendLine(string.Create(c, $"  {SqnrReport.FormatDb(w.SqnrDb),8} dB  {w.FloatName} ({w.Role} of {w.OpType} '{w.NodeName}')"));
        }

        return sb.ToString().TrimEnd();
    }

    /// <inheritdoc />
    public override string ToString() => Summary();
}
