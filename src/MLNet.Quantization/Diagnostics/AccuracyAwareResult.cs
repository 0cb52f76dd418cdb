using System.Globalization;
using System.Text;

namespace MLNet.Quantization.Diagnostics;

/// <summary>How much giving one layer back to float (alone) recovers: the sensitivity analysis.</summary>
/// <param name="NodeName">The layer's node.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="Metric">The metric with only this layer (and any excluded by the caller) in float.</param>
/// <param name="OutputSqnrDb">SQNR of the model output against the float model with this layer in float; breaks ties.</param>
public sealed record LayerSensitivity(string NodeName, string OpType, double Metric, double OutputSqnrDb);

/// <summary>One layer given back to float, and the metric measured after it.</summary>
/// <param name="Step">1 for the first layer given back.</param>
/// <param name="NodeName">The layer's node.</param>
/// <param name="OpType">Its operator.</param>
/// <param name="Metric">The metric after this decision (all layers given back so far in float).</param>
/// <param name="Drop">Float metric minus <paramref name="Metric"/>.</param>
public sealed record AccuracyDecision(int Step, string NodeName, string OpType, double Metric, double Drop);

/// <summary>The outcome of <see cref="AccuracyAwareQuantizer.Run"/>.</summary>
public sealed class AccuracyAwareResult
{
    internal AccuracyAwareResult(QuantizedModel model, double floatMetric, double initialMetric, double metric, double maxDrop,
        IReadOnlyList<LayerSensitivity> sensitivity, IReadOnlyList<AccuracyDecision> decisions, IReadOnlyList<string> layers)
    {
        Model = model;
        FloatMetric = floatMetric;
        InitialMetric = initialMetric;
        Metric = metric;
        MaxDrop = maxDrop;
        Sensitivity = sensitivity;
        Decisions = decisions;
        Layers = layers;
    }

    /// <summary>The quantized model of this result.</summary>
    public QuantizedModel Model { get; }

    /// <summary>The float model's metric on the evaluation set.</summary>
    public double FloatMetric { get; }

    /// <summary>The metric with every layer quantized (before any decision).</summary>
    public double InitialMetric { get; }

    /// <summary>The metric of <see cref="Model"/>.</summary>
    public double Metric { get; }

    /// <summary><see cref="FloatMetric"/> minus <see cref="Metric"/>.</summary>
    public double Drop => FloatMetric - Metric;

    /// <summary>The target drop.</summary>
    public double MaxDrop { get; }

    /// <summary>True when <see cref="Drop"/> ≤ <see cref="MaxDrop"/>.</summary>
    public bool TargetMet => Drop <= MaxDrop;

    /// <summary>The sensitivity analysis, most harmful layer first (empty when no layer had to go back).</summary>
    public IReadOnlyList<LayerSensitivity> Sensitivity { get; }

    /// <summary>The layers given back to float, in order, each with the metric after it.</summary>
    public IReadOnlyList<AccuracyDecision> Decisions { get; }

    /// <summary>The candidate layers (quantized Conv/Gemm/MatMul nodes of the first conversion), in graph order.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>The layers of <see cref="Layers"/> still quantized in <see cref="Model"/>.</summary>
    public int QuantizedLayerCount => Layers.Count - Decisions.Count;

    /// <inheritdoc />
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(c, $"float metric {FloatMetric:F4}; fully quantized {InitialMetric:F4} (drop {FloatMetric - InitialMetric:F4}); target drop ≤ {MaxDrop:F4}"));
        if (Sensitivity.Count > 0)
        {
            sb.AppendLine("sensitivity (metric with the layer alone in float, most harmful first):");
            foreach (var s in Sensitivity)
                sb.AppendLine(string.Create(c, $"  {s.Metric:F4}  output SQNR {SqnrReport.FormatDb(s.OutputSqnrDb),7} dB  {s.OpType} '{s.NodeName}'"));
        }

        foreach (var d in Decisions)
            sb.AppendLine(string.Create(c, $"step {d.Step}: {d.OpType} '{d.NodeName}' back to float → metric {d.Metric:F4} (drop {d.Drop:F4})"));
        sb.Append(string.Create(c, $"result: metric {Metric:F4} (drop {Drop:F4}), {QuantizedLayerCount}/{Layers.Count} layers quantized, target {(TargetMet ? "met" : "not met")}"));
        return sb.ToString();
    }
}

/// <summary>Accuracy-aware quantization could not reach its target; <see cref="BestResult"/> holds the best model found.</summary>
public sealed class AccuracyTargetNotMetException : Exception
{
    /// <summary>Creates the exception around the best result found.</summary>
    public AccuracyTargetNotMetException(AccuracyAwareResult bestResult)
        : base(Describe(bestResult ?? throw new ArgumentNullException(nameof(bestResult))))
    {
        BestResult = bestResult;
    }

    /// <summary>The best result found: the highest metric seen, with the fewest layers in float among equals.</summary>
    public AccuracyAwareResult BestResult { get; }

    private static string Describe(AccuracyAwareResult best) => string.Create(CultureInfo.InvariantCulture,
        $"Accuracy target not met: the drop must be ≤ {best.MaxDrop:F4}, but the best result found is metric {best.Metric:F4} against float {best.FloatMetric:F4} (drop {best.Drop:F4}) with {best.Decisions.Count} of {best.Layers.Count} layers in float{(best.Decisions.Count > 0 ? $" [{string.Join(", ", best.Decisions.Select(d => d.NodeName))}]" : "")}.");
}
