using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Simd128Kernels = MLNet.Quantization.Numerics.SimdKernels<MLNet.Quantization.Numerics.Simd128,
    System.Runtime.Intrinsics.Vector128<float>, System.Runtime.Intrinsics.Vector128<int>, System.Runtime.Intrinsics.Vector128<double>>;
using Simd256Kernels = MLNet.Quantization.Numerics.SimdKernels<MLNet.Quantization.Numerics.Simd256,
    System.Runtime.Intrinsics.Vector256<float>, System.Runtime.Intrinsics.Vector256<int>, System.Runtime.Intrinsics.Vector256<double>>;
using Simd512Kernels = MLNet.Quantization.Numerics.SimdKernels<MLNet.Quantization.Numerics.Simd512,
    System.Runtime.Intrinsics.Vector512<float>, System.Runtime.Intrinsics.Vector512<int>, System.Runtime.Intrinsics.Vector512<double>>;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// Quantize, dequantize and fake-quantize kernels, per tensor and per channel on any axis of a C-order tensor, for
/// <see cref="byte"/>, <see cref="sbyte"/>, <see cref="ushort"/>, <see cref="short"/> and <see cref="int"/> values
/// (the <c>T</c> of every method; other types throw <see cref="NotSupportedException"/>).
/// </summary>
/// <remarks>
/// <para><b>Quantize</b> is ONNX <c>QuantizeLinear</c>: <c>q = saturate(roundHalfToEven(x / scale) + zeroPoint)</c>, with a
/// float32 division (not a multiplication by 1/scale), as ONNX's reference implementation and ONNX Runtime's MLAS kernels
/// compute it. Saturation is to [quantMin, quantMax], which default to the type's range as in ONNX.
/// NaN quantizes to quantMin, as ONNX Runtime's x86 kernels do (their <c>max(x / scale, min − zp)</c> returns the second
/// operand for NaN); ±Inf saturate.</para>
/// <para><b>Dequantize</b> is ONNX <c>DequantizeLinear</c>: <c>x̂ = (q − zeroPoint) · scale</c>, the difference exact and the
/// product in float32.</para>
/// <para><b>Fake quantize</b> is PyTorch's <c>fake_quantize_per_tensor_affine</c> / <c>fake_quantize_per_channel_affine</c>
/// CPU kernel, which multiplies by <c>inv_scale = 1f / scale</c> instead of dividing:
/// <c>(clamp(zeroPoint + nearbyint(x · inv_scale), quantMin, quantMax) − zeroPoint) · scale</c>. It can differ from
/// quantize-then-dequantize by one step where <c>x · (1/scale)</c> and <c>x / scale</c> round to different sides of a tie.
/// NaN gives quantMin (PyTorch's <c>fmax(NaN, quant_min)</c>), so <c>(quantMin − zeroPoint) · scale</c>.</para>
/// <para>Every kernel has Vector512, Vector256, Vector128 and scalar paths with bit-identical results; the widest
/// accelerated one runs, and a run shorter than its block takes the next narrower one (<see cref="SimdKernels{W, TFloats, TInts, TDoubles}"/>).</para>
/// </remarks>
public static class QuantizeKernels
{
    /// <summary>Largest magnitude float32 holds every integer up to; fake quantization keeps its integers within it.</summary>
    private const int FloatExactLimit = 1 << 24;

    /// <summary>Quantizes per tensor with one scale and zero point, saturating to [<paramref name="quantMin"/>, <paramref name="quantMax"/>].</summary>
    /// <typeparam name="T">byte, sbyte, ushort, short or int.</typeparam>
    /// <param name="source">The float values.</param>
    /// <param name="scale">The scale; finite and positive.</param>
    /// <param name="zeroPoint">The zero point; within <typeparamref name="T"/>'s range.</param>
    /// <param name="quantMin">Lowest quantized value; within <typeparamref name="T"/>'s range.</param>
    /// <param name="quantMax">Highest quantized value; at least <paramref name="quantMin"/>.</param>
    /// <param name="destination">Receives the quantized values; same length as <paramref name="source"/>.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T> =>
        QuantizePerTensor(source, scale, zeroPoint, quantMin, quantMax, destination, KernelPath.Auto);

    /// <summary>Quantizes per tensor exactly as ONNX <c>QuantizeLinear</c>, saturating to <typeparamref name="T"/>'s full range.</summary>
    /// <typeparam name="T">byte, sbyte, ushort, short or int.</typeparam>
    public static void Quantize<T>(ReadOnlySpan<float> source, float scale, int zeroPoint, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        var (min, max) = TypeRange<T>();
        QuantizePerTensor(source, scale, zeroPoint, min, max, destination, KernelPath.Auto);
    }

    /// <summary>Quantizes per channel along <paramref name="axis"/> of a C-order tensor.</summary>
    /// <typeparam name="T">byte, sbyte, ushort, short or int.</typeparam>
    /// <param name="source">The tensor, C order.</param>
    /// <param name="shape">The tensor's shape.</param>
    /// <param name="axis">The channel axis; negative counts from the end, as in ONNX.</param>
    /// <param name="scales">One scale per channel (<c>shape[axis]</c> of them).</param>
    /// <param name="zeroPoints">One zero point per channel.</param>
    /// <param name="quantMin">Lowest quantized value.</param>
    /// <param name="quantMax">Highest quantized value.</param>
    /// <param name="destination">Receives the quantized values.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T> =>
        QuantizePerChannel(source, shape, axis, scales, zeroPoints, quantMin, quantMax, destination, KernelPath.Auto);

    /// <summary>
    /// Quantizes a tensor with <paramref name="qparams"/>, per tensor or per channel along its axis, saturating to
    /// [<see cref="QParams.QuantMin"/>, <see cref="QParams.QuantMax"/>] (PyTorch's convert does the same). For ONNX Runtime's
    /// run-time behaviour, which saturates to the type's full range, use the overload without bounds.
    /// </summary>
    /// <typeparam name="T">The .NET type of <see cref="QParams.DataType"/>.</typeparam>
    /// <param name="source">The tensor, C order.</param>
    /// <param name="shape">The tensor's shape (read for per-channel parameters).</param>
    /// <param name="qparams">The quantization parameters.</param>
    /// <param name="destination">Receives the quantized values.</param>
    public static void Quantize<T>(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QParams qparams, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckDataType<T>(qparams);
        if (qparams.IsPerChannel)
            QuantizePerChannel(source, shape, qparams.Axis!.Value, qparams.Scales, qparams.ZeroPoints, qparams.QuantMin, qparams.QuantMax, destination, KernelPath.Auto);
        else
            QuantizePerTensor(source, qparams.Scale, qparams.ZeroPoint, qparams.QuantMin, qparams.QuantMax, destination, KernelPath.Auto);
    }

    /// <summary>Dequantizes per tensor, as ONNX <c>DequantizeLinear</c>: <c>(q − zeroPoint) · scale</c>.</summary>
    /// <typeparam name="T">byte, sbyte, ushort, short or int.</typeparam>
    public static void Dequantize<T>(ReadOnlySpan<T> source, float scale, int zeroPoint, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T> =>
        DequantizePerTensor(source, scale, zeroPoint, destination, KernelPath.Auto);

    /// <summary>Dequantizes per channel along <paramref name="axis"/> of a C-order tensor.</summary>
    /// <typeparam name="T">byte, sbyte, ushort, short or int.</typeparam>
    public static void Dequantize<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T> =>
        DequantizePerChannel(source, shape, axis, scales, zeroPoints, destination, KernelPath.Auto);

    /// <summary>Dequantizes a tensor with <paramref name="qparams"/>, per tensor or per channel.</summary>
    /// <typeparam name="T">The .NET type of <see cref="QParams.DataType"/>.</typeparam>
    public static void Dequantize<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> shape, QParams qparams, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckDataType<T>(qparams);
        if (qparams.IsPerChannel)
            DequantizePerChannel(source, shape, qparams.Axis!.Value, qparams.Scales, qparams.ZeroPoints, destination, KernelPath.Auto);
        else
            DequantizePerTensor(source, qparams.Scale, qparams.ZeroPoint, destination, KernelPath.Auto);
    }

    /// <summary>Fake-quantizes per tensor, as PyTorch's <c>fake_quantize_per_tensor_affine</c>.</summary>
    /// <param name="source">The float values.</param>
    /// <param name="scale">The scale; finite and positive.</param>
    /// <param name="zeroPoint">The zero point; within [<paramref name="quantMin"/>, <paramref name="quantMax"/>].</param>
    /// <param name="quantMin">Lowest quantized value; |value| ≤ 2^24.</param>
    /// <param name="quantMax">Highest quantized value; |value| ≤ 2^24.</param>
    /// <param name="destination">Receives the fake-quantized values; may be the same span as <paramref name="source"/>.</param>
    public static void FakeQuantize(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<float> destination) =>
        FakeQuantizePerTensor(source, scale, zeroPoint, quantMin, quantMax, destination, KernelPath.Auto);

    /// <summary>Fake-quantizes per channel along <paramref name="axis"/>, as PyTorch's <c>fake_quantize_per_channel_affine</c>.</summary>
    public static void FakeQuantize(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax, Span<float> destination) =>
        FakeQuantizePerChannel(source, shape, axis, scales, zeroPoints, quantMin, quantMax, destination, KernelPath.Auto);

    /// <summary>Fake-quantizes a tensor with <paramref name="qparams"/>, per tensor or per channel, within its quantized range.</summary>
    public static void FakeQuantize(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, QParams qparams, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(qparams);
        if (qparams.IsPerChannel)
            FakeQuantizePerChannel(source, shape, qparams.Axis!.Value, qparams.Scales, qparams.ZeroPoints, qparams.QuantMin, qparams.QuantMax, destination, KernelPath.Auto);
        else
            FakeQuantizePerTensor(source, qparams.Scale, qparams.ZeroPoint, qparams.QuantMin, qparams.QuantMax, destination, KernelPath.Auto);
    }

    // ---------------------------------------------------------------- drivers (internal: tests pick the path)

    internal static void QuantizePerTensor<T>(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<T> destination, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        CheckScale(scale, 0);
        CheckQuantizeBounds<T>(quantMin, quantMax);
        CheckZeroPointInType<T>(zeroPoint, 0);
        QuantizeRun(source, destination, [scale], [zeroPoint], quantMin, quantMax, Resolve(path));
    }

    internal static void QuantizePerChannel<T>(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax, Span<T> destination, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        var (outer, channels, inner) = ChannelLayout(source.Length, shape, axis, scales.Length);
        CheckChannelParams(scales, zeroPoints);
        CheckQuantizeBounds<T>(quantMin, quantMax);
        for (int c = 0; c < channels; c++)
            CheckZeroPointInType<T>(zeroPoints[c], c);
        path = Resolve(path);
        foreach (var run in new ChannelRuns(outer, channels, inner))
        {
            QuantizeRun(source.Slice(run.Start, run.Length), destination.Slice(run.Start, run.Length), scales.Slice(run.Channel, run.Channels),
                zeroPoints.Slice(run.Channel, run.Channels), quantMin, quantMax, path);
        }
    }

    internal static void DequantizePerTensor<T>(ReadOnlySpan<T> source, float scale, int zeroPoint, Span<float> destination, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        CheckScale(scale, 0);
        CheckZeroPointInType<T>(zeroPoint, 0);
        DequantizeRun(source, destination, [scale], [zeroPoint], Resolve(path));
    }

    internal static void DequantizePerChannel<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        Span<float> destination, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        CheckLengths(source.Length, destination.Length);
        var (outer, channels, inner) = ChannelLayout(source.Length, shape, axis, scales.Length);
        CheckChannelParams(scales, zeroPoints);
        for (int c = 0; c < channels; c++)
            CheckZeroPointInType<T>(zeroPoints[c], c);
        path = Resolve(path);
        foreach (var run in new ChannelRuns(outer, channels, inner))
        {
            DequantizeRun(source.Slice(run.Start, run.Length), destination.Slice(run.Start, run.Length), scales.Slice(run.Channel, run.Channels),
                zeroPoints.Slice(run.Channel, run.Channels), path);
        }
    }

    internal static void FakeQuantizePerTensor(ReadOnlySpan<float> source, float scale, int zeroPoint, int quantMin, int quantMax, Span<float> destination, KernelPath path)
    {
        CheckLengths(source.Length, destination.Length);
        CheckScale(scale, 0);
        CheckFakeQuantizeBounds(quantMin, quantMax);
        CheckZeroPointInRange(zeroPoint, quantMin, quantMax, 0);
        FakeQuantizeRun(source, destination, [scale], [1f / scale], [zeroPoint], quantMin, quantMax, Resolve(path));
    }

    internal static void FakeQuantizePerChannel(ReadOnlySpan<float> source, ReadOnlySpan<int> shape, int axis, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax, Span<float> destination, KernelPath path)
    {
        CheckLengths(source.Length, destination.Length);
        var (outer, channels, inner) = ChannelLayout(source.Length, shape, axis, scales.Length);
        CheckChannelParams(scales, zeroPoints);
        CheckFakeQuantizeBounds(quantMin, quantMax);
        var invScales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            CheckZeroPointInRange(zeroPoints[c], quantMin, quantMax, c);
            invScales[c] = 1f / scales[c]; // PyTorch: float inv_scale = 1.0f / scale, per channel
        }

        path = Resolve(path);
        foreach (var run in new ChannelRuns(outer, channels, inner))
        {
            FakeQuantizeRun(source.Slice(run.Start, run.Length), destination.Slice(run.Start, run.Length), scales.Slice(run.Channel, run.Channels),
                invScales.AsSpan(run.Channel, run.Channels), zeroPoints.Slice(run.Channel, run.Channels), quantMin, quantMax, path);
        }
    }

    /// <summary>Splits a C-order tensor into (outer, channels, inner) around <paramref name="axis"/> (negative counts from the end).</summary>
    /// <exception cref="ArgumentException">The axis is out of range, the shape does not describe <paramref name="length"/> values, or it has
    /// <c>shape[axis] ≠ <paramref name="expectedChannels"/></c>.</exception>
    internal static (int Outer, int Channels, int Inner) ChannelLayout(int length, ReadOnlySpan<int> shape, int axis, int expectedChannels)
    {
        int rank = shape.Length;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentException($"Channel axis {axis} is outside a tensor of rank {rank}.", nameof(axis));
        long outer = 1, inner = 1;
        for (int i = 0; i < rank; i++)
        {
            if (shape[i] < 0)
                throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] has a negative dimension.", nameof(shape));
            if (i < a)
                outer *= shape[i];
            else if (i > a)
                inner *= shape[i];
            if (outer > int.MaxValue || inner > int.MaxValue)
                throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] is too large.", nameof(shape));
        }

        int channels = shape[a];
        if (outer * channels * inner != length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] holds {outer * channels * inner} values but {length} were given.", nameof(shape));
        if (channels != expectedChannels)
            throw new ArgumentException($"The tensor has {channels} channels on axis {axis} but {expectedChannels} per-channel parameters were given.", nameof(shape));
        return ((int)outer, channels, (int)inner);
    }

    // ---------------------------------------------------------------- runs: a contiguous stretch with one scale (broadcast) or one per value

    private static void QuantizeRun<T>(ReadOnlySpan<float> x, Span<T> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, int quantMin, int quantMax, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = x.Length;
        if (path >= KernelPath.Vector512 && n >= Simd512Kernels.BlockLength<T>())
            Simd512Kernels.Quantize(x, y, scales, zeroPoints, quantMin, quantMax);
        else if (path >= KernelPath.Vector256 && n >= Simd256Kernels.BlockLength<T>())
            Simd256Kernels.Quantize(x, y, scales, zeroPoints, quantMin, quantMax);
        else if (path >= KernelPath.Vector128 && n >= Simd128Kernels.BlockLength<T>())
            Simd128Kernels.Quantize(x, y, scales, zeroPoints, quantMin, quantMax);
        else
        {
            bool broadcast = scales.Length == 1;
            for (int i = 0; i < n; i++)
            {
                int p = broadcast ? 0 : i;
                y[i] = T.CreateTruncating(QuantizeValue(x[i], scales[p], zeroPoints[p], quantMin, quantMax));
            }
        }
    }

    private static void DequantizeRun<T>(ReadOnlySpan<T> q, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, KernelPath path)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = q.Length;
        if (path >= KernelPath.Vector512 && n >= Simd512Kernels.BlockLength<T>())
            Simd512Kernels.Dequantize(q, y, scales, zeroPoints);
        else if (path >= KernelPath.Vector256 && n >= Simd256Kernels.BlockLength<T>())
            Simd256Kernels.Dequantize(q, y, scales, zeroPoints);
        else if (path >= KernelPath.Vector128 && n >= Simd128Kernels.BlockLength<T>())
            Simd128Kernels.Dequantize(q, y, scales, zeroPoints);
        else
        {
            bool broadcast = scales.Length == 1;
            for (int i = 0; i < n; i++)
            {
                int p = broadcast ? 0 : i;
                y[i] = DequantizeValue(int.CreateTruncating(q[i]), scales[p], zeroPoints[p]);
            }
        }
    }

    private static void FakeQuantizeRun(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<float> invScales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax, KernelPath path)
    {
        int n = x.Length;
        if (path >= KernelPath.Vector512 && n >= Simd512Kernels.BlockLength<float>())
            Simd512Kernels.FakeQuantize(x, y, scales, invScales, zeroPoints, quantMin, quantMax);
        else if (path >= KernelPath.Vector256 && n >= Simd256Kernels.BlockLength<float>())
            Simd256Kernels.FakeQuantize(x, y, scales, invScales, zeroPoints, quantMin, quantMax);
        else if (path >= KernelPath.Vector128 && n >= Simd128Kernels.BlockLength<float>())
            Simd128Kernels.FakeQuantize(x, y, scales, invScales, zeroPoints, quantMin, quantMax);
        else
        {
            bool broadcast = scales.Length == 1;
            for (int i = 0; i < n; i++)
            {
                int p = broadcast ? 0 : i;
                y[i] = FakeQuantizeValue(x[i], scales[p], invScales[p], zeroPoints[p], quantMin, quantMax);
            }
        }
    }

    // ---------------------------------------------------------------- scalar definitions (the SIMD paths reproduce these bit for bit)

    /// <summary>One value through QuantizeLinear: <c>clamp(roundHalfToEven(x / scale) + zeroPoint)</c>, NaN → quantMin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int QuantizeValue(float x, float scale, int zeroPoint, int quantMin, int quantMax)
    {
        float v = x / scale;
        if (float.IsNaN(v))
            return quantMin;
        // Rounding the float32 quotient; the sum in double is exact wherever it can land inside an int32 range.
        double q = Math.Round((double)v, MidpointRounding.ToEven) + zeroPoint;
        return q <= quantMin ? quantMin : q >= quantMax ? quantMax : (int)q;
    }

    /// <summary>One value through DequantizeLinear: <c>(q − zeroPoint) · scale</c>, the difference exact before rounding to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DequantizeValue(int q, float scale, int zeroPoint) => (float)((double)q - zeroPoint) * scale;

    /// <summary>One value through PyTorch's fake quantization: <c>(clamp(zp + nearbyint(x · inv), qmin, qmax) − zp) · scale</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float FakeQuantizeValue(float x, float scale, float invScale, int zeroPoint, int quantMin, int quantMax)
    {
        float q = zeroPoint + MathF.Round(x * invScale, MidpointRounding.ToEven);
        float c = float.IsNaN(q) ? quantMin : Math.Clamp(q, quantMin, quantMax);
        return (c - zeroPoint) * scale;
    }

    // ---------------------------------------------------------------- validation

    internal static KernelPath Resolve(KernelPath path) => path switch
    {
        KernelPath.Auto when Vector512.IsHardwareAccelerated => KernelPath.Vector512,
        KernelPath.Auto when Vector256.IsHardwareAccelerated => KernelPath.Vector256,
        KernelPath.Auto when Vector128.IsHardwareAccelerated => KernelPath.Vector128,
        KernelPath.Auto => KernelPath.Scalar,
        _ => path,
    };

    private static (int Min, int Max) TypeRange<T>()
    {
        if (typeof(T) == typeof(byte)) return (byte.MinValue, byte.MaxValue);
        if (typeof(T) == typeof(sbyte)) return (sbyte.MinValue, sbyte.MaxValue);
        if (typeof(T) == typeof(ushort)) return (ushort.MinValue, ushort.MaxValue);
        if (typeof(T) == typeof(short)) return (short.MinValue, short.MaxValue);
        if (typeof(T) == typeof(int)) return (int.MinValue, int.MaxValue);
        throw new NotSupportedException($"Quantized values of type {typeof(T).Name} are not supported; use byte, sbyte, ushort, short or int.");
    }

    private static void CheckDataType<T>(QParams qparams)
    {
        ArgumentNullException.ThrowIfNull(qparams);
        var expected = qparams.DataType switch
        {
            QuantDataType.UInt8 => typeof(byte),
            QuantDataType.Int8 => typeof(sbyte),
            QuantDataType.UInt16 => typeof(ushort),
            QuantDataType.Int16 => typeof(short),
            _ => typeof(int),
        };
        if (typeof(T) != expected)
            throw new ArgumentException($"Parameters for {qparams.DataType} need {expected.Name} values, not {typeof(T).Name}.", nameof(qparams));
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

    private static void CheckChannelParams(ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
    {
        if (zeroPoints.Length != scales.Length)
            throw new ArgumentException($"{scales.Length} scales but {zeroPoints.Length} zero points.", nameof(zeroPoints));
        for (int c = 0; c < scales.Length; c++)
            CheckScale(scales[c], c);
    }

    private static void CheckQuantizeBounds<T>(int quantMin, int quantMax)
    {
        var (min, max) = TypeRange<T>();
        if (quantMin < min || quantMax > max || quantMin > quantMax)
            throw new ArgumentException($"Quantization range [{quantMin}, {quantMax}] does not fit {typeof(T).Name} [{min}, {max}].", nameof(quantMin));
    }

    private static void CheckZeroPointInType<T>(int zeroPoint, int index)
    {
        var (min, max) = TypeRange<T>();
        if (zeroPoint < min || zeroPoint > max)
            throw new ArgumentException($"Zero point {index} is {zeroPoint}, outside {typeof(T).Name} [{min}, {max}].", nameof(zeroPoint));
    }

    private static void CheckFakeQuantizeBounds(int quantMin, int quantMax)
    {
        if (quantMin > quantMax)
            throw new ArgumentException($"quantMin {quantMin} is above quantMax {quantMax}.", nameof(quantMin));
        if (quantMin < -FloatExactLimit || quantMax > FloatExactLimit)
            throw new ArgumentException($"Fake quantization computes in float32; range [{quantMin}, {quantMax}] must lie within ±2^24.", nameof(quantMin));
    }

    private static void CheckZeroPointInRange(int zeroPoint, int quantMin, int quantMax, int index)
    {
        if (zeroPoint < quantMin || zeroPoint > quantMax)
            throw new ArgumentException($"Zero point {index} is {zeroPoint}, outside [{quantMin}, {quantMax}] (PyTorch requires it inside).", nameof(zeroPoint));
    }
}

/// <summary>
/// Which implementation a kernel runs; <see cref="Auto"/> picks the widest accelerated one. A vector path is the widest
/// width used: a run shorter than one of its blocks takes the next narrower width, and the scalar definition below that.
/// </summary>
internal enum KernelPath
{
    /// <summary>Vector512 if accelerated, else Vector256, else Vector128, else scalar.</summary>
    Auto,
    /// <summary>The scalar definition.</summary>
    Scalar,
    /// <summary>Vector128 (software-emulated where not accelerated).</summary>
    Vector128,
    /// <summary>Vector256 (software-emulated where not accelerated).</summary>
    Vector256,
    /// <summary>Vector512 (software-emulated where not accelerated).</summary>
    Vector512,
}

/// <summary>
/// The runs of a tensor quantized per channel, each a contiguous stretch of values and the channel parameters it reads:
/// one channel for all its values, or, when the channel axis is the last (or followed by 1s), every channel elementwise.
/// </summary>
internal struct ChannelRuns
{
    private readonly int _outer;
    private readonly int _channels;
    private readonly int _inner;
    private int _next;

    /// <summary>The runs of a C-order tensor of (<paramref name="outer"/>, <paramref name="channels"/>, <paramref name="inner"/>) values.</summary>
    public ChannelRuns(int outer, int channels, int inner)
    {
        _outer = outer;
        _channels = channels;
        _inner = inner;
        _next = -1;
    }

    /// <summary>The run <see cref="MoveNext"/> moved to.</summary>
    public readonly ChannelRun Current => _inner == 1
        ? new ChannelRun(_next * _channels, _channels, 0, _channels)
        : new ChannelRun(_next * _inner, _inner, _next % _channels, 1);

    /// <summary>Enumerates the runs in memory order.</summary>
    public readonly ChannelRuns GetEnumerator() => this;

    /// <summary>Moves to the next run; false after the last (at once when the tensor is empty).</summary>
    public bool MoveNext()
    {
        long runs = _inner == 1 ? _outer : (long)_outer * _channels;
        if (_inner == 0 || _next + 1 >= runs)
            return false;
        _next++;
        return true;
    }
}

/// <summary>A contiguous stretch of <paramref name="Length"/> values from <paramref name="Start"/>, reading <paramref name="Channels"/>
/// channel parameters from <paramref name="Channel"/> (one broadcast, or one per value).</summary>
internal readonly record struct ChannelRun(int Start, int Length, int Channel, int Channels);
