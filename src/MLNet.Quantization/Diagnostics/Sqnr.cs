namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Signal-to-quantization-noise ratio in dB: <c>20·log10(‖x‖ / ‖x − x̂‖)</c> = <c>10·log10(Σx² / Σ(x − x̂)²)</c>, summed in
/// double. An exact approximation (x̂ = x, including an all-zero x) gives +∞; noise on an all-zero signal gives −∞;
/// a NaN anywhere gives NaN.
/// </summary>
public static class Sqnr
{
    /// <summary>The SQNR of <paramref name="approximation"/> against <paramref name="reference"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static double Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        var energy = new SqnrAccumulator();
        energy.Add(reference, approximation);
        return energy.Decibels;
    }

    /// <summary>The SQNR of each channel along <paramref name="axis"/> of C-order tensors of shape <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, or do not match the shape or axis.</exception>
    public static double[] ComputePerChannel(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation, ReadOnlySpan<int> shape, int axis)
    {
        if (reference.Length != approximation.Length)
            throw new ArgumentException($"The reference has {reference.Length} values but the approximation {approximation.Length}.", nameof(approximation));
        if (axis < 0 || axis >= shape.Length)
            throw new ArgumentException($"Axis {axis} is outside a rank-{shape.Length} shape.", nameof(axis));
        long count = 1;
        foreach (int d in shape)
            count *= d;
        if (count != reference.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] holds {count} values, not {reference.Length}.", nameof(shape));
        int channels = shape[axis];
        int inner = 1;
        for (int i = axis + 1; i < shape.Length; i++)
            inner *= shape[i];
        var energies = new SqnrAccumulator[channels];
        for (int start = 0; start < reference.Length; start += inner)
        {
            int channel = start / inner % channels;
            energies[channel].Add(reference.Slice(start, inner), approximation.Slice(start, inner));
        }

        return energies.Select(e => e.Decibels).ToArray();
    }

    /// <summary>The SQNR from the summed energies: <c>10·log10(signal / noise)</c>, with the edge cases above.</summary>
    public static double FromEnergies(double signal, double noise)
    {
        if (double.IsNaN(signal) || double.IsNaN(noise))
            return double.NaN;
        if (noise == 0)
            return double.PositiveInfinity;
        if (signal == 0)
            return double.NegativeInfinity;
        return 10 * Math.Log10(signal / noise);
    }
}

/// <summary>Running sums Σx² and Σ(x − x̂)² over any number of chunks (streaming SQNR).</summary>
internal struct SqnrAccumulator
{
    public double Signal;
    public double Noise;
    public long Count;

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        if (reference.Length != approximation.Length)
            throw new ArgumentException($"The reference has {reference.Length} values but the approximation {approximation.Length}.", nameof(approximation));
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double x = reference[i];
            double e = x - approximation[i];
            signal += x * x;
            noise += e * e;
        }

        Signal += signal;
        Noise += noise;
        Count += reference.Length;
    }

    public readonly double Decibels => Sqnr.FromEnergies(Signal, Noise);
}
