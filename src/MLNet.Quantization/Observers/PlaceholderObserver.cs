using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// Records only the target dtype, as PyTorch's <c>PlaceholderObserver</c>: used for dynamic quantization, where
/// activation qparams are chosen at run time from each input (ONNX <c>DynamicQuantizeLinear</c>), so there is nothing to
/// calibrate. <see cref="CalculateQParams"/> therefore throws; the observer still observes (to report
/// <see cref="HasObservations"/>) and merges.
/// </summary>
public sealed class PlaceholderObserver : Observer
{
    private bool _sawFinite;

    /// <summary>Creates the observer; only <see cref="ObserverOptions.DataType"/> matters.</summary>
    public PlaceholderObserver(ObserverOptions? options = null)
        : base(options ?? new ObserverOptions())
    {
    }

    /// <summary>The dtype qparams will be chosen for at run time.</summary>
    public QuantDataType DataType => Options.DataType;

    /// <inheritdoc />
    public override bool HasObservations => _sawFinite;

    /// <inheritdoc />
    public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        CheckShape(values.Length, shape);
        if (_sawFinite)
            return;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                _sawFinite = true;
                return;
            }
        }
    }

    /// <inheritdoc />
    public override void Merge(Observer other)
    {
        var o = CheckMergeable<PlaceholderObserver>(other);
        _sawFinite |= o._sawFinite;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Always: dynamic quantization has no calibrated qparams.</exception>
    public override QParams CalculateQParams() =>
        throw new InvalidOperationException(
            $"A {nameof(PlaceholderObserver)} marks a dynamically quantized tensor: its qparams are chosen at run time from each input " +
            "(ONNX DynamicQuantizeLinear), so there are none to calculate.");

    /// <inheritdoc />
    public override Observer CreateEmpty() => new PlaceholderObserver(Options);

    internal override void WriteState(StatisticsWriter writer) => writer.WriteBool(_sawFinite);

    internal override void ReadState(StatisticsReader reader) => _sawFinite = reader.ReadBool();
}
