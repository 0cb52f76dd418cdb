using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Records only the target dtype, as PyTorch's <c>PlaceholderObserver</c>: used for dynamic quantization, where
/// activation qparams are chosen at run time (ONNX <c>DynamicQuantizeLinear</c>), so there is nothing to calibrate.
/// </summary>
public sealed class PlaceholderObserver : Observer
{
    /// <summary>Creates the observer.</summary>
    public PlaceholderObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions())
    {
    }

    /// <summary>The dtype qparams will be chosen for at run time.</summary>
    public QuantDataType DataType => Options.DataType;

    /// <inheritdoc />
    public override bool HasObservations => false;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape) => CheckShape(values.Length, shape);

    /// <inheritdoc />
    public override void Merge(Observer other) => CheckMergeable<PlaceholderObserver>(other);

    /// <inheritdoc />
    public override QParams CalculateQParams() =>
        throw new InvalidOperationException("A placeholder observer has no qparams: dynamic quantization chooses them at run time.");

    /// <inheritdoc />
    public override Observer CreateEmpty() => new PlaceholderObserver(Options);
}
