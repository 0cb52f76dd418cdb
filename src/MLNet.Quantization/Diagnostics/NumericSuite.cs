using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// The numeric suite: where a quantized model's error comes from. Weights: SQNR of every quantized constant against its
/// float value, per tensor and worst output channel. Activations: the float and the quantized model run on the same
/// samples, each tensor compared at its quantization point, worst first. Outputs: SQNR and top-1 agreement.
/// </summary>
/// <remarks>
/// Tensors are matched by name against the float graph the quantizer worked on. For a model written by this library
/// that is the prepared graph (constants and BatchNorm folded), rebuilt from the float model with the options recorded
/// in the quantized model's metadata, so names survive BN folding and DequantizeLinear duplication. For other QDQ models
/// (e.g. ONNX Runtime's quantizer) the float model is used as given, a QuantizeLinear input is matched when the float
/// model has a tensor of that name read by the same kinds of nodes, and anything else is listed in
/// <see cref="SqnrReport.Unmatched"/> rather than guessed.
/// </remarks>
public static class NumericSuite
{
    /// <summary>Compares a quantized model with the float model it came from, on <paramref name="batches"/>.</summary>
    /// <param name="floatModel">The float model (as given to the quantizer).</param>
    /// <param name="quantizedModel">A QDQ model, from this library or another tool.</param>
    /// <param name="batches">Samples for the float model's inputs, batch dimension first; streamed.</param>
    /// <param name="cancellationToken">Cancels, also inside a running ONNX Runtime inference.</param>
    /// <returns>Per-tensor weight and activation SQNR (worst first), the outputs' SQNR and top-1 agreement, and what could not be matched.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="floatModel"/> or <paramref name="quantizedModel"/> is null.</exception>
    /// <exception cref="ArgumentException">A batch does not match the model inputs, or there are no batches.</exception>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    /// <example>
    /// <code language="csharp">
    /// SqnrReport report = NumericSuite.Compare(OnnxModel.Load("m.onnx"), OnnxModel.Load("m.int8.onnx"), batches);
    /// Console.WriteLine($"output SQNR {report.OutputSqnrDb:F1} dB, top-1 agreement {report.Top1Agreement:P1}");
    /// foreach (var worst in report.Activations.Take(5))
    ///     Console.WriteLine(worst);                  // the quantization points that cost the most
    /// </code>
    /// </example>
    public static SqnrReport Compare(OnnxModel floatModel, OnnxModel quantizedModel, IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(floatModel);
        ArgumentNullException.ThrowIfNull(quantizedModel);
        return Compare(FloatReference.Resolve(floatModel, quantizedModel, cancellationToken), OnnxGraph.FromModel(quantizedModel), batches, cancellationToken);
    }

    /// <summary>Compares the result of <see cref="PreparedModel.Convert"/> with the prepared float graph it was made from.</summary>
    /// <param name="prepared">The prepared model the quantized model was converted from.</param>
    /// <param name="quantized">The result of <paramref name="prepared"/>'s <see cref="PreparedModel.Convert"/>.</param>
    /// <param name="batches">Samples for the model's inputs, batch dimension first; streamed.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>Per-tensor weight and activation SQNR (worst first) and the outputs' SQNR and top-1 agreement.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prepared"/> or <paramref name="quantized"/> is null.</exception>
    /// <exception cref="ArgumentException">A batch does not match the model inputs, or there are no batches.</exception>
    public static SqnrReport Compare(PreparedModel prepared, QuantizedModel quantized, IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(quantized);
        return Compare(prepared.Graph.Clone(), OnnxGraph.FromModel(quantized.Model), batches, cancellationToken);
    }

    /// <summary>Weights only (no samples needed): the SQNR of every quantized constant, worst first, and the unmatched ones.</summary>
    /// <param name="floatModel">The float model (as given to the quantizer).</param>
    /// <param name="quantizedModel">A QDQ model, from this library or another tool.</param>
    /// <returns>A report with <see cref="SqnrReport.Weights"/> and <see cref="SqnrReport.Unmatched"/> filled in.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="floatModel"/> or <paramref name="quantizedModel"/> is null.</exception>
    public static SqnrReport CompareWeights(OnnxModel floatModel, OnnxModel quantizedModel)
    {
        ArgumentNullException.ThrowIfNull(floatModel);
        ArgumentNullException.ThrowIfNull(quantizedModel);
        var (weights, unmatched) = WeightComparison.Compare(FloatReference.Resolve(floatModel, quantizedModel), OnnxGraph.FromModel(quantizedModel));
        return new SqnrReport(weights, [], [], unmatched, 0);
    }

    private static SqnrReport Compare(OnnxGraph reference, OnnxGraph quantized, IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken)
    {
        var (weights, unmatchedWeights) = WeightComparison.Compare(reference, quantized);
        var (activations, outputs, unmatched, samples) = new ActivationComparison(reference, quantized).Run(batches, cancellationToken);
        return new SqnrReport(weights, activations, outputs, unmatchedWeights.Concat(unmatched).ToList(), samples);
    }
}
