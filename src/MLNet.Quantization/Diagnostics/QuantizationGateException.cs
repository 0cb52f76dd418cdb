namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// A quantized model did not clear its gate. The message states each bar missed with the measured figure and names the
/// worst layers (activation SQNR at their quantization points, and the worst weights), so a failing CI run says where
/// to look. Thrown by the <c>Ensure…</c> methods of <see cref="QuantizedModelCheckResult"/>; it derives from
/// <see cref="Exception"/> only, so MSTest, xUnit and NUnit all report it as a test failure with its message.
/// </summary>
/// <example>
/// <code>
/// try
/// {
///     QuantizedModelCheck.Run(floatModel, int8Model, evaluation).EnsureOutputSqnrAtLeast(30);
/// }
/// catch (QuantizationGateException e)
/// {
///     Console.Error.WriteLine(e.Message);                       // the bars missed, the figures, the worst layers
///     string worst = e.Result.WorstLayers[0].Tensor;             // e.g. keep its consumer in float and quantize again
/// }
/// </code>
/// </example>
public sealed class QuantizationGateException : Exception
{
    /// <summary>Creates the exception for a result and the bars it missed.</summary>
    /// <param name="result">The measured result.</param>
    /// <param name="failures">One sentence per bar missed.</param>
    public QuantizationGateException(QuantizedModelCheckResult result, IReadOnlyList<string> failures)
        : base(Describe(result ?? throw new ArgumentNullException(nameof(result)), failures ?? throw new ArgumentNullException(nameof(failures))))
    {
        Result = result;
        Failures = failures;
    }

    /// <summary>The measured result (figures, worst layers, the full numeric-suite report).</summary>
    public QuantizedModelCheckResult Result { get; }

    /// <summary>One sentence per bar missed.</summary>
    public IReadOnlyList<string> Failures { get; }

    private static string Describe(QuantizedModelCheckResult result, IReadOnlyList<string> failures) =>
        $"Quantized model gate failed: {string.Join("; ", failures)}.{Environment.NewLine}{result.Summary()}";
}
