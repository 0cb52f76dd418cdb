using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Tracks the running minimum and maximum of a tensor, as PyTorch's <c>MinMaxObserver</c>; per-tensor qparams.
/// </summary>
public class MinMaxObserver : Observer
{
    /// <summary>Creates the observer; the scheme must be per tensor.</summary>
    public MinMaxObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions())
    {
        if (Options.QScheme.IsPerChannel())
            throw new ArgumentException($"{GetType().Name} is per tensor; use a per-channel observer for {Options.QScheme}.", nameof(options));
        _ = QParamsCalculator.QuantRange(Options);
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
        if (!FiniteRange.TryGet(values, out float min, out float max))
            return;
        Update(min, max);
    }

    /// <summary>Folds one batch's range into the running range.</summary>
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
    public override QParams CalculateQParams() => QParamsCalculator.Calculate(Min, Max, Options);

    /// <inheritdoc />
    public override Observer CreateEmpty() => new MinMaxObserver(Options);
}
