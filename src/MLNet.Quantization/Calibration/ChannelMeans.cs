namespace MLNet.Quantization.Calibration;

/// <summary>
/// The mean of a float tensor per channel on one axis (the last when <see cref="Axis"/> is −1) over every value
/// calibration fed it, for bias correction, and its largest |value| per channel, for SmoothQuant. Mergeable: observing A then B equals observing A and B apart and merging.
/// Non-finite values are skipped, as the observers skip them.
/// </summary>
internal sealed class ChannelMeans(int channels, int axis)
{
    private readonly double[] _sums = new double[channels];
    private readonly long[] _counts = new long[channels];
    private readonly double[] _absMaxima = new double[channels];

    /// <summary>The channel axis; −1 for the last one.</summary>
    public int Axis { get; } = axis;

    /// <summary>The number of channels.</summary>
    public int Channels => _sums.Length;

    /// <summary>True once every channel saw a finite value.</summary>
    public bool HasObservations => Array.TrueForAll(_counts, c => c > 0);

    /// <summary>Adds a batch of the tensor (C order); a shape whose channel axis does not hold <see cref="Channels"/> is ignored.</summary>
    public void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        int axis = Axis < 0 ? shape.Length - 1 : Axis;
        if (axis < 0 || axis >= shape.Length || shape[axis] != Channels)
            return;
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
            outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++)
            inner *= shape[d];
        int index = 0;
        for (long o = 0; o < outer; o++)
        {
            for (int c = 0; c < Channels; c++)
            {
                double sum = 0;
                float absMax = 0;
                long count = 0;
                for (long i = 0; i < inner; i++)
                {
                    float v = values[index++];
                    if (float.IsFinite(v))
                    {
                        sum += v;
                        absMax = Math.Max(absMax, Math.Abs(v));
                        count++;
                    }
                }

                _sums[c] += sum;
                _counts[c] += count;
                _absMaxima[c] = Math.Max(_absMaxima[c], absMax);
            }
        }
    }

    /// <summary>Folds <paramref name="other"/> (same channels and axis) into this one.</summary>
    public void Merge(ChannelMeans other)
    {
        if (other.Channels != Channels || other.Axis != Axis)
            throw new ArgumentException($"Cannot merge means of {other.Channels} channels on axis {other.Axis} into {Channels} on axis {Axis}.", nameof(other));
        for (int c = 0; c < Channels; c++)
        {
            _sums[c] += other._sums[c];
            _counts[c] += other._counts[c];
            _absMaxima[c] = Math.Max(_absMaxima[c], other._absMaxima[c]);
        }
    }

    /// <summary>A new, empty statistic with the same channels and axis.</summary>
    public ChannelMeans CreateEmpty() => new(Channels, Axis);

    /// <summary>The mean per channel (0 for a channel that saw nothing).</summary>
    public double[] Means()
    {
        var means = new double[Channels];
        for (int c = 0; c < Channels; c++)
            means[c] = _counts[c] > 0 ? _sums[c] / _counts[c] : 0;
        return means;
    }

    /// <summary>The largest finite |value| per channel (0 for a channel that saw nothing).</summary>
    public float[] AbsMaxima() => _absMaxima.Select(m => (float)m).ToArray();
}
