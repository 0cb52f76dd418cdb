using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Observers;

/// <summary>
/// The settings every observer shares, matching the constructor arguments of PyTorch's observers
/// (<c>dtype</c>, <c>qscheme</c>, <c>reduce_range</c>, <c>quant_min</c>, <c>quant_max</c>, <c>eps</c>, <c>ch_axis</c>).
/// </summary>
/// <param name="DataType">The quantized type.</param>
/// <param name="QScheme">Affine or symmetric, per tensor or per channel.</param>
/// <param name="ReduceRange">Use one bit less of range (7-bit activations), for CPUs without VNNI.</param>
/// <param name="QuantMin">A custom lowest quantized value; <c>null</c> for the type's (or reduced) range.</param>
/// <param name="QuantMax">A custom highest quantized value; <c>null</c> for the type's (or reduced) range.</param>
/// <param name="Eps">The lower clamp on scales.</param>
/// <param name="ChannelAxis">The channel axis of per-channel schemes.</param>
public sealed record ObserverOptions(
    QuantDataType DataType = QuantDataType.UInt8,
    QScheme QScheme = QScheme.PerTensorAffine,
    bool ReduceRange = false,
    int? QuantMin = null,
    int? QuantMax = null,
    float Eps = Observer.DefaultEps,
    int ChannelAxis = 0);
