using MLNet.Quantization.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>
/// Fake quantization in TorchSharp with PyTorch's gradient: the forward value is PyTorch's
/// <c>fake_quantize_per_tensor_affine</c> / <c>fake_quantize_per_channel_affine</c> kernel,
/// <c>(clamp(zp + round(x · (1/scale)), qmin, qmax) − zp) · scale</c> with round half to even (<c>torch.round</c>, as
/// PyTorch's <c>nearbyint</c>); the gradient is straight-through with PyTorch's mask: 1 where
/// <c>qmin ≤ zp + round(x/scale) ≤ qmax</c>, 0 outside (TorchSharp 0.107 marks <c>torch.fake_quantize_*</c> as not
/// implemented, so this is written with round and clamp).
/// </summary>
/// <remarks>
/// The output is <c>fq(x).detach() + (m·x − (m·x).detach())</c>: the second term is exactly 0 in value and has gradient m,
/// so the forward value is bit-identical to <see cref="QuantizeKernels.FakeQuantize(ReadOnlySpan{float}, ReadOnlySpan{int}, QParams, Span{float})"/>.
/// Scale and zero point get no gradient (they come from observers, as in PyTorch's <c>FakeQuantize</c>).
/// </remarks>
internal static class FakeQuantize
{
    /// <summary>Fake-quantizes a float32 tensor with <paramref name="qparams"/>, per tensor or per channel along its axis.</summary>
    /// <exception cref="ArgumentException">The tensor is not float32, or per-channel parameters do not match the channel axis.</exception>
    public static Tensor Apply(Tensor x, QParams qparams)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(qparams);
        if (x.dtype != ScalarType.Float32)
            throw new ArgumentException($"Fake quantization needs a float32 tensor; got {x.dtype}.", nameof(x));
        using var scope = NewDisposeScope();
        Tensor scale, inverse, zeroPoint;
        if (qparams.IsPerChannel)
        {
            int axis = qparams.Axis!.Value;
            if (axis < 0 || axis >= x.dim())
                throw new ArgumentException($"Channel axis {axis} is outside a tensor of rank {x.dim()}.", nameof(qparams));
            if (x.shape[axis] != qparams.Scales.Length)
                throw new ArgumentException($"The tensor has {x.shape[axis]} channels on axis {axis} but the parameters have {qparams.Scales.Length}.", nameof(qparams));
            var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
            shape[axis] = qparams.Scales.Length;
            scale = tensor(qparams.Scales).reshape(shape);
            inverse = tensor(qparams.Scales.Select(s => 1f / s).ToArray()).reshape(shape);
            zeroPoint = tensor(qparams.ZeroPoints.Select(z => (float)z).ToArray()).reshape(shape);
        }
        else
        {
            scale = tensor(qparams.Scale);
            inverse = tensor(1f / qparams.Scale);
            zeroPoint = tensor((float)qparams.ZeroPoint);
        }

        // No implicit Scalars (see SafeScalars): these two stay alive through the using until the end of the method.
        using var qmin = ((double)qparams.QuantMin).ToScalar();
        using var qmax = ((double)qparams.QuantMax).ToScalar();
        Tensor value, keep;
        using (no_grad())
        {
            // PyTorch: zp + nearbyint(x * inv_scale), in float32 (exact for the integers of 8- and 16-bit ranges)
            var q = (x.detach() * inverse).round().Plus(zeroPoint);
            keep = q.ge(qmin).logical_and(q.le(qmax)).to_type(ScalarType.Float32);
            value = q.clamp(qmin, qmax).Minus(zeroPoint) * scale;
        }

        // x · mask passes the gradient where x is kept: PyTorch's mask; "passed − passed.detach()" is exactly 0
        var passed = x * keep;
        return value.Plus(passed.Minus(passed.detach())).MoveToOuterDisposeScope();
    }
}
