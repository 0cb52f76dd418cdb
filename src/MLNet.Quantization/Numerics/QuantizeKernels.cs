using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// Quantize, dequantize and fake-quantize kernels, per tensor and per channel on any axis of a C-order tensor.
/// </summary>
/// <remarks>
/// <para><b>Quantize</b> follows ONNX <c>QuantizeLinear</c>: <c>q = saturate(roundHalfToEven(x / scale) + zeroPoint)</c>,
/// the division done in float32. NaN maps to the zero point (it dequantizes to 0); ±Inf saturate.</para>
/// <para><b>Dequantize</b> follows ONNX <c>DequantizeLinear</c>: <c>x̂ = (q − zeroPoint) · scale</c> in float32.</para>
/// <para><b>Fake quantize</b> follows PyTorch's <c>fake_quantize_per_tensor_affine</c> CPU kernel, which multiplies by
/// <c>inv_scale = 1 / scale</c> instead of dividing: <c>(clamp(zeroPoint + nearbyint(x · inv_scale), qmin, qmax) − zeroPoint) · scale</c>.
/// The two can differ on exact ties, which is why both forms exist.</para>
/// <para>Each kernel has a Vector256 path and a scalar path that give bit-identical results.</para>
/// </remarks>
public static class QuantizeKernels
{
    /// <summary>Forces the scalar paths; tests use it to compare the SIMD and scalar paths.</summary>
    internal static bool ForceScalar { get; set; }

    private static bool UseSimd => !ForceScalar && Vector256.IsHardwareAccelerated;

    /// <summary>Quantizes <paramref name="source"/> with one scale and zero point (ONNX QuantizeLinear).</summary>
    public static void Quantize<T>(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        CheckScale(scale, 0);
        QuantizeBlock(source, scale, zeroPoint, quantMin, quantMax, destination);
    }

    /// <summary>Quantizes a tensor with <paramref name="qparams"/>, per tensor or per channel along its axis.</summary>
    /// <param name="source">The tensor, C order.</param>
    /// <param name="shape">The tensor's shape (needed for per-channel parameters).</param>
    /// <param name="qparams">The quantization parameters.</param>
    /// <param name="destination">Receives the quantized values.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QParams qparams, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(qparams);
        CheckLengths(source.Length, destination.Length);
        if (!qparams.IsPerChannel)
        {
            QuantizeBlock(source, qparams.Scale, qparams.ZeroPoint, qparams.QuantMin, qparams.QuantMax, destination);
            return;
        }

        var (outer, channels, inner) = ChannelLayout(source.Length, shape, qparams.Axis!.Value, qparams.Scales.Length);
        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                QuantizeBlock(source.Slice(start, inner), qparams.Scales[c], qparams.ZeroPoints[c], qparams.QuantMin, qparams.QuantMax, destination.Slice(start, inner));
            }
        }
    }

    /// <summary>Dequantizes with one scale and zero point (ONNX DequantizeLinear).</summary>
    public static void Dequantize<T>(ReadOnlySpan<T> source, float scale, int zeroPoint, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        for (int i = 0; i < source.Length; i++)
            destination[i] = (float)(int.CreateTruncating(source[i]) - zeroPoint) * scale;
    }

    /// <summary>Dequantizes a tensor with <paramref name="qparams"/>, per tensor or per channel.</summary>
    public static void Dequantize<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> shape, QParams qparams, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(qparams);
        CheckLengths(source.Length, destination.Length);
        if (!qparams.IsPerChannel)
        {
            Dequantize(source, qparams.Scale, qparams.ZeroPoint, destination);
            return;
        }

        var (outer, channels, inner) = ChannelLayout(source.Length, shape, qparams.Axis!.Value, qparams.Scales.Length);
        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                Dequantize(source.Slice(start, inner), qparams.Scales[c], qparams.ZeroPoints[c], destination.Slice(start, inner));
            }
        }
    }

    /// <summary>Fake-quantizes per tensor, as PyTorch's <c>fake_quantize_per_tensor_affine</c>.</summary>
    public static void FakeQuantize(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        CheckScale(scale, 0);
        FakeQuantizeBlock(source, scale, zeroPoint, quantMin, quantMax, destination);
    }

    /// <summary>Fake-quantizes a tensor per tensor or per channel, as PyTorch's <c>fake_quantize_per_*_affine</c>.</summary>
    public static void FakeQuantize(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QParams qparams, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(qparams);
        CheckLengths(source.Length, destination.Length);
        if (!qparams.IsPerChannel)
        {
            FakeQuantizeBlock(source, qparams.Scale, qparams.ZeroPoint, qparams.QuantMin, qparams.QuantMax, destination);
            return;
        }

        var (outer, channels, inner) = ChannelLayout(source.Length, shape, qparams.Axis!.Value, qparams.Scales.Length);
        for (int o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                int start = (o * channels + c) * inner;
                FakeQuantizeBlock(source.Slice(start, inner), qparams.Scales[c], qparams.ZeroPoints[c], qparams.QuantMin, qparams.QuantMax, destination.Slice(start, inner));
            }
        }
    }

    /// <summary>Splits a C-order tensor into (outer, channels, inner) around <paramref name="axis"/>.</summary>
    internal static (int Outer, int Channels, int Inner) ChannelLayout(int length, ReadOnlySpan<int> shape, int axis, int expectedChannels)
    {
        if (axis < 0)
            axis += shape.Length;
        if (axis < 0 || axis >= shape.Length)
            throw new ArgumentException($"Channel axis {axis} is outside a tensor of rank {shape.Length}.", nameof(axis));
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++)
            outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++)
            inner *= shape[i];
        int channels = shape[axis];
        if (outer * channels * inner != length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] does not describe {length} values.", nameof(shape));
        if (channels != expectedChannels)
            throw new ArgumentException($"The tensor has {channels} channels on axis {axis} but the parameters have {expectedChannels}.", nameof(shape));
        return ((int)outer, channels, (int)inner);
    }

    private static void QuantizeBlock<T>(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        // float32 holds every integer up to 2^24 exactly; wider ranges (int32 bias) take the scalar path
        bool exactInFloat = quantMin >= -(1 << 24) && quantMax <= 1 << 24;
        if (UseSimd && exactInFloat && source.Length >= Vector256<float>.Count)
        {
            var vScale = Vector256.Create(scale);
            var vZp = Vector256.Create((float)zeroPoint);
            var vMin = Vector256.Create((float)quantMin);
            var vMax = Vector256.Create((float)quantMax);
            Span<int> lanes = stackalloc int[Vector256<int>.Count];
            ref float src = ref MemoryMarshal.GetReference(source);
            for (; i <= source.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref src, (nuint)i);
                var v = Vector256.Round(x / vScale) + vZp;
                v = Vector256.ConditionalSelect(Vector256.Equals(x, x), v, vZp); // NaN → zero point
                v = Vector256.Min(Vector256.Max(v, vMin), vMax);
                Vector256.ConvertToInt32(v).CopyTo(lanes);
                for (int k = 0; k < lanes.Length; k++)
                    destination[i + k] = T.CreateTruncating(lanes[k]);
            }
        }

        for (; i < source.Length; i++)
            destination[i] = T.CreateTruncating(QuantizeScalar(source[i], scale, zeroPoint, quantMin, quantMax));
    }

    /// <summary>One value through ONNX QuantizeLinear.</summary>
    internal static int QuantizeScalar(float x, float scale, int zeroPoint, int quantMin, int quantMax)
    {
        if (float.IsNaN(x))
            return Math.Clamp(zeroPoint, quantMin, quantMax);
        float v = MathF.Round(x / scale, MidpointRounding.ToEven) + zeroPoint;
        return (int)Math.Clamp((double)v, quantMin, quantMax); // clamp in double: int32 bounds are not floats
    }

    private static void FakeQuantizeBlock(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<float> destination)
    {
        float invScale = 1f / scale;
        int i = 0;
        if (UseSimd && source.Length >= Vector256<float>.Count)
        {
            var vInv = Vector256.Create(invScale);
            var vScale = Vector256.Create(scale);
            var vZp = Vector256.Create((float)zeroPoint);
            var vMin = Vector256.Create((float)quantMin);
            var vMax = Vector256.Create((float)quantMax);
            ref float src = ref MemoryMarshal.GetReference(source);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref src, (nuint)i);
                var v = vZp + Vector256.Round(x * vInv);
                v = Vector256.ConditionalSelect(Vector256.Equals(x, x), v, vZp);
                v = Vector256.Min(Vector256.Max(v, vMin), vMax);
                ((v - vZp) * vScale).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        for (; i < source.Length; i++)
            destination[i] = FakeQuantizeScalar(source[i], scale, invScale, zeroPoint, quantMin, quantMax);
    }

    private static float FakeQuantizeScalar(float x, float scale, float invScale, int zeroPoint, int quantMin, int quantMax)
    {
        if (float.IsNaN(x))
            return 0f;
        float v = zeroPoint + MathF.Round(x * invScale, MidpointRounding.ToEven);
        v = MathF.Min(MathF.Max(v, quantMin), quantMax);
        return (v - zeroPoint) * scale;
    }

    private static void CheckLengths(int source, int destination)
    {
        if (source != destination)
            throw new ArgumentException($"Source has {source} values but destination has room for {destination}.", nameof(destination));
    }

    private static void CheckScale(float scale, int index)
    {
        if (!float.IsFinite(scale) || scale <= 0f)
            throw new ArgumentException($"Scale {index} is {scale}; scales must be finite and positive.", nameof(scale));
    }
}
