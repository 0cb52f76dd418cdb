namespace MLNet.Quantization.Numerics;

/// <summary>How scale and zero point are derived from an observed range, as PyTorch's <c>torch.qscheme</c>.</summary>
public enum QScheme
{
    /// <summary>One scale and zero point per tensor; zero point from the range (<c>torch.per_tensor_affine</c>).</summary>
    PerTensorAffine,
    /// <summary>One scale per tensor, zero point fixed at the type's middle (<c>torch.per_tensor_symmetric</c>).</summary>
    PerTensorSymmetric,
    /// <summary>One affine scale and zero point per channel along an axis (<c>torch.per_channel_affine</c>).</summary>
    PerChannelAffine,
    /// <summary>One symmetric scale per channel along an axis (<c>torch.per_channel_symmetric</c>).</summary>
    PerChannelSymmetric,
}

/// <summary>Helpers on <see cref="QScheme"/>.</summary>
public static class QSchemeExtensions
{
    /// <summary>True for the per-channel schemes.</summary>
    public static bool IsPerChannel(this QScheme scheme) =>
        scheme is QScheme.PerChannelAffine or QScheme.PerChannelSymmetric;

    /// <summary>True for the symmetric schemes.</summary>
    public static bool IsSymmetric(this QScheme scheme) =>
        scheme is QScheme.PerTensorSymmetric or QScheme.PerChannelSymmetric;
}
