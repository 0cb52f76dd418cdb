using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// Tensor arithmetic without TorchSharp's implicit <see cref="Scalar"/>s. In TorchSharp 0.107, <c>a + b</c>
/// (through <c>add(b, alpha)</c>) passes a fresh implicit <c>alpha = 1</c> Scalar, and <c>x * 0.5f</c>, <c>masked_fill(m, 0f)</c> and the like
/// convert their numbers the same way; nothing keeps that Scalar reachable during the native call, so a garbage
/// collection can finalize it while libtorch reads it, which fails as "Expected false to be true" from c10::Scalar
/// (seen in a full-data QAT run, reproduced by <c>ScalarLifetimeStressTests</c>). These helpers use a Scalar rooted in
/// a static field, or one the caller keeps alive.
/// </summary>
internal static class SafeScalars
{
    /// <summary>The alpha of a plain addition or subtraction, never collected.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a − b</c>.</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.sub(b); // TorchSharp's sub(Tensor) takes no Scalar

    /// <summary><c>a · factor</c>, with the Scalar alive until the call returns.</summary>
    public static Tensor Times(this Tensor a, double factor)
    {
        using var scalar = factor.ToScalar(); // disposed, so reachable, only after mul has returned
        return a.mul(scalar);
    }
}
