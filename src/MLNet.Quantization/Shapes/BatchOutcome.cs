namespace MLNet.Quantization.Shapes;

/// <summary>What <see cref="FixedBatchRelaxation"/> found or did about the graph inputs' batch dimension.</summary>
/// <param name="FixedBatchSize">The batch size the graph still requires, or null when it takes any batch size.</param>
/// <param name="Note">One sentence for reports: what was done and why; empty when the batch was symbolic already.</param>
internal sealed record BatchOutcome(int? FixedBatchSize, string Note)
{
    /// <summary>The inputs' batch dimension was symbolic (or there is none to relax): nothing done.</summary>
    public static BatchOutcome AlreadySymbolic { get; } = new(null, "");
}
