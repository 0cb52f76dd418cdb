using System.Diagnostics;

namespace MLNet.Quantization;

/// <summary>Reports the steps of one stage to an optional <see cref="IProgress{T}"/>, timing them from the stage's start.</summary>
internal sealed class StageReporter(IProgress<QuantizationProgress>? progress, QuantizationStage stage)
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    /// <summary>Says that <paramref name="step"/> starts now.</summary>
    public void Step(string step) => progress?.Report(new QuantizationProgress(stage, step, _watch.Elapsed));
}
