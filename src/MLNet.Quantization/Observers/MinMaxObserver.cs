using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks the running minimum and maximum of a tensor, as PyTorch's <c>MinMaxObserver</c>; per-tensor qparams,
/// affine or symmetric. Non-finite values are ignored.
/// </summary>
public class MinMaxObserver : Observer
{
    /// <summary>Creates the observer.</summary>
    /// <param name="options">Settings; the scheme must be per tensor. Defaults to uint8 per-tensor affine.</param>
    /// <exception cref="ArgumentException">A per-channel scheme, an invalid custom range, or symmetric uint8 with
    /// <see cref="ObserverOptions.ReduceRange"/> (PyTorch: "Cannot reduce range for symmetric quantization for quint8").</exception>
    public MinMaxObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions())
    {
        if (Options.QScheme.IsPerChannel())
            throw new ArgumentException($"{GetType().Name} is per tensor; use a per-channel observer for {Options.QScheme}.", nameof(options));
        CheckOptions(Options);
    }

    /// <summary>The smallest finite value seen (+Inf before any).</summary>
    public float Min { get; protected set; } = float.PositiveInfinity;

    /// <summary>The largest finite value seen (−Inf before any).</summary>
    public float Max { get; protected set; } = float.NegativeInfinity;

    /// <inheritdoc />
    public override bool HasObservations => Min <= Max;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        if (FiniteRange.TryGet(values, out float min, out float max))
            Update(min, max);
    }

    /// <summary>Folds one batch's finite range into the running range; only called for batches with a finite value.</summary>
    protected virtual void Update(float batchMin, float batchMax)
    {
        Min = MathF.Min(Min, batchMin);
        Max = MathF.Max(Max, batchMax);
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<MinMaxObserver>(other);
        if (!o.HasObservations)
            return;
        Min = MathF.Min(Min, o.Min);
        Max = MathF.Max(Max, o.Max);
    }

    /// <inheritdoc />
    /// <remarks>Scale 1 and zero point 0 (PyTorch's default) when nothing finite was observed.</remarks>
    public override QParams CalculateQParams() => QParamsCalculator.Calculate(Min, Max, Options);

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MinMaxObserver(Options);

    internal override void WriteState(StatisticsWriter writer)
    {
        writer.WriteSingle(Min);
        writer.WriteSingle(Max);
    }

    internal override void ReadState(StatisticsReader reader) => (Min, Max) = reader.ReadRange("the min/max");

    /// <summary>PyTorch's min/max observer checks: a valid quantized range, and no reduced range for symmetric uint8.</summary>
    internal static void CheckOptions(ObserverOptions options)
    {
        _ = QParamsCalculator.QuantRange(options);
        if (options.QScheme.IsSymmetric() && options.ReduceRange && options.DataType == QuantDataType.UInt8)
            throw new ArgumentException("Cannot reduce range for symmetric quantization for uint8 (PyTorch raises NotImplementedError).", nameof(options));
    }
}
