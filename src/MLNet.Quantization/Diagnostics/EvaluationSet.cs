namespace MLNet.Quantization.Diagnostics;

/// <summary>Labelled samples for accuracy-aware quantization: samples stored back to back (C order) and one label each.</summary>
public sealed class EvaluationSet
{
    /// <summary>Creates an evaluation set.</summary>
    /// <param name="samples">The samples of a single-input float model, back to back, <c>labels.Count × sample size</c> values.</param>
    /// <param name="labels">One label per sample.</param>
    /// <exception cref="ArgumentException">No labels, or the sample count does not divide evenly.</exception>
    public EvaluationSet(float[] samples, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0)
            throw new ArgumentException("The evaluation set needs at least one labelled sample.", nameof(labels));
        if (samples.Length == 0 || samples.Length % labels.Count != 0)
            throw new ArgumentException($"{samples.Length} sample values do not split evenly into {labels.Count} labelled samples.", nameof(samples));
        Samples = samples;
        Labels = labels;
    }

    /// <summary>The samples, back to back.</summary>
    public float[] Samples { get; }

    /// <summary>The labels.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>Values per sample.</summary>
    public int SampleSize => Samples.Length / Labels.Count;
}
