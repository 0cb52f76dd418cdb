using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Watches the values a tensor takes during calibration and turns them into quantization parameters,
/// as PyTorch's <c>torch.ao.quantization.observer</c> classes do.
/// </summary>
/// <remarks>
/// Non-finite values (NaN, ±Inf) are ignored by every observer: they never widen a range and never reach a scale.
/// An observer that has seen no finite value returns PyTorch's default parameters (scale 1, zero point 0).
/// Observers are mergeable: observing A then B equals observing A and B apart and calling <see cref="Merge"/>.
/// </remarks>
public abstract class Observer
{
    /// <summary>PyTorch's default eps, <c>torch.finfo(torch.float32).eps</c>.</summary>
    public const float DefaultEps = 1.1920929e-07f;

    /// <summary>Creates an observer.</summary>
    protected Observer(ObserverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The settings that define this observer's qparams.</summary>
    public ObserverOptions Options { get; }

    /// <summary>True once at least one finite value was observed.</summary>
    public abstract bool HasObservations { get; }

    /// <summary>Observes a batch of values of a tensor with the given shape (row-major).</summary>
    /// <param name="values">The tensor's values, C order.</param>
    /// <param name="shape">The tensor's shape; its product must equal <paramref name="values"/>'s length. Per-channel observers read the channel axis from it.</param>
    public abstract void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape);

    /// <summary>Observes a flat batch of values (a 1-D tensor).</summary>
    public void Observe(ReadOnlySpan<float> values) => Observe(values, [values.Length]);

    /// <summary>Folds the statistics of <paramref name="other"/>, an observer of the same kind and options, into this one.</summary>
    public abstract void Merge(Observer other);

    /// <summary>Computes the quantization parameters from what was observed.</summary>
    public abstract QParams CalculateQParams();

    /// <summary>A new, empty observer with the same options.</summary>
    public abstract Observer CreateEmpty();

    /// <summary>Writes the observed statistics (not the settings) to a statistics file; see docs/scale-out.md.</summary>
    /// <exception cref="NotSupportedException">An observer type defined outside this library.</exception>
    internal virtual void WriteState(StatisticsWriter writer) =>
        throw new NotSupportedException($"{GetType().Name} has no statistics-file form; only this library's observers can be saved with PreparedModel.SaveStatistics.");

    /// <summary>Replaces the observed statistics with ones read from a statistics file, validating each value.</summary>
    /// <exception cref="InvalidDataException">A value is out of range (the message names the file and offset).</exception>
    internal virtual void ReadState(StatisticsReader reader) =>
        throw new NotSupportedException($"{GetType().Name} has no statistics-file form.");

    /// <summary>Throws unless <paramref name="other"/> has this observer's type and options; used by <see cref="Merge"/>.</summary>
    protected T CheckMergeable<T>(Observer other) where T : Observer
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other is not T typed || other.GetType() != GetType())
            throw new ArgumentException($"Cannot merge a {other.GetType().Name} into a {GetType().Name}.", nameof(other));
        if (!Options.Equals(other.Options))
            throw new ArgumentException($"Cannot merge observers with different options ({other.Options} into {Options}).", nameof(other));
        return typed;
    }

    /// <summary>Validates that <paramref name="shape"/> describes <paramref name="length"/> values.</summary>
    protected static void CheckShape(int length, ReadOnlySpan<int> shape)
    {
        long product = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape has a negative dimension {d}.", nameof(shape));
            product *= d;
        }

        if (product != length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] holds {product} values but {length} were given.", nameof(shape));
    }
}
