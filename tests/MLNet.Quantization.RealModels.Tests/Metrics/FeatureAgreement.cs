namespace MLNet.Quantization.RealModels.Tests.Metrics;

/// <summary>Agreement of float and int8 outputs row by row.</summary>
internal static class FeatureAgreement
{
    /// <summary>Mean over rows of the cosine similarity of two feature vectors (a zero vector against itself counts 1).</summary>
    public static double MeanCosine(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
    {
        if (a.Count != b.Count || a.Count == 0)
            throw new ArgumentException($"{a.Count} rows against {b.Count}");
        double sum = 0;
        for (int i = 0; i < a.Count; i++)
            sum += Cosine(a[i], b[i]);
        return sum / a.Count;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"{a.Length} values against {b.Length}");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 && nb == 0 ? 1 : dot / Math.Sqrt(na * nb);
    }
}
