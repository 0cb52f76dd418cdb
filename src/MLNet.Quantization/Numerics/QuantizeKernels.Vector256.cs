// GENERATED from QuantizeKernels.Vector512.cs by halving every vector type (see that file's header); edit that file, then regenerate:
//   (these two lines, then) sed '1,2d; s/Vector128/Vector64/g; s/Vector256/Vector128/g; s/Vector512/Vector256/g; s/V512/V256/g' QuantizeKernels.Vector512.cs
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MLNet.Quantization.Numerics;

public static partial class QuantizeKernels
{
    /// <summary>
    /// Quantizes whole Vector256&lt;T&gt; blocks of <paramref name="x"/> (16 int32, 32 16-bit or 64 8-bit values per step) and
    /// returns how many values it wrote; the caller finishes the tail with the scalar definition.
    /// </summary>
    private static int QuantizeV256<T>(ReadOnlySpan<float> x, Span<T> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, int quantMin, int quantMax)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = x.Length, step = Vector256<T>.Count, lanes = Vector256<float>.Count, i = 0;
        var p = new ParamsV256(scales, zeroPoints);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        if (typeof(T) == typeof(int))
        {
            var lo = Vector256.Create((double)quantMin);
            var hi = Vector256.Create((double)quantMax);
            for (; i <= n - step; i += step)
                QuantizeWideV256(ref xs, p, i, lo, hi).As<int, T>().StoreUnsafe(ref ys, (nuint)i);
            return i;
        }

        var flo = Vector256.Create((float)quantMin);
        var fhi = Vector256.Create((float)quantMax);
        for (; i <= n - step; i += step)
        {
            Vector256<T> block;
            if (typeof(T) == typeof(short))
            {
                block = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i, flo, fhi), QuantizeNarrowV256(ref xs, p, i + lanes, flo, fhi)).As<short, T>();
            }
            else if (typeof(T) == typeof(ushort))
            {
                block = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i, flo, fhi).AsUInt32(),
                    QuantizeNarrowV256(ref xs, p, i + lanes, flo, fhi).AsUInt32()).As<ushort, T>();
            }
            else if (typeof(T) == typeof(sbyte))
            {
                var a = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i, flo, fhi), QuantizeNarrowV256(ref xs, p, i + lanes, flo, fhi));
                var b = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i + 2 * lanes, flo, fhi), QuantizeNarrowV256(ref xs, p, i + 3 * lanes, flo, fhi));
                block = Vector256.Narrow(a, b).As<sbyte, T>();
            }
            else
            {
                var a = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i, flo, fhi).AsUInt32(), QuantizeNarrowV256(ref xs, p, i + lanes, flo, fhi).AsUInt32());
                var b = Vector256.Narrow(QuantizeNarrowV256(ref xs, p, i + 2 * lanes, flo, fhi).AsUInt32(), QuantizeNarrowV256(ref xs, p, i + 3 * lanes, flo, fhi).AsUInt32());
                block = Vector256.Narrow(a, b).As<byte, T>();
            }

            block.StoreUnsafe(ref ys, (nuint)i);
        }

        return i;
    }

    /// <summary>
    /// 8- and 16-bit targets: <c>round(x / s) + zp</c> in float32 is exact wherever it can land inside the range
    /// (|bounds| ≤ 65535 ≪ 2^24), so clamping it there equals the scalar definition's double arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeNarrowV256(ref float xs, in ParamsV256 p, int i, Vector256<float> lo, Vector256<float> hi)
    {
        var q = Vector256Ops.Round(Vector256.LoadUnsafe(ref xs, (nuint)i) / p.Scale(i)) + p.ZeroPointSingle(i);
        var c = Vector256Ops.MinNative(Vector256Ops.MaxNative(q, lo), hi);
        c = Vector256.ConditionalSelect(Vector256.Equals(q, q), c, lo); // NaN → quantMin
        return Vector256.ConvertToInt32(c);
    }

    /// <summary>int32 targets: the rounded quotient plus the zero point in double (exact), clamped, then narrowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeWideV256(ref float xs, in ParamsV256 p, int i, Vector256<double> lo, Vector256<double> hi)
    {
        var r = Vector256Ops.Round(Vector256.LoadUnsafe(ref xs, (nuint)i) / p.Scale(i));
        var z = p.ZeroPoint(i);
        var a = ClampV256(Vector256.WidenLower(r) + Vector256.ConvertToDouble(Vector256.WidenLower(z)), lo, hi);
        var b = ClampV256(Vector256.WidenUpper(r) + Vector256.ConvertToDouble(Vector256.WidenUpper(z)), lo, hi);
        return Vector256.Narrow(Vector256.ConvertToInt64(a), Vector256.ConvertToInt64(b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ClampV256(Vector256<double> v, Vector256<double> lo, Vector256<double> hi)
    {
        var c = Vector256Ops.MinNative(Vector256Ops.MaxNative(v, lo), hi);
        return Vector256.ConditionalSelect(Vector256.Equals(v, v), c, lo);
    }

    /// <summary>Dequantizes whole Vector256&lt;T&gt; blocks; returns how many values it wrote.</summary>
    private static int DequantizeV256<T>(ReadOnlySpan<T> q, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = q.Length, step = Vector256<T>.Count, lanes = Vector256<float>.Count, i = 0;
        var p = new ParamsV256(scales, zeroPoints);
        ref T qs = ref MemoryMarshal.GetReference(q);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (; i <= n - step; i += step)
        {
            var block = Vector256.LoadUnsafe(ref qs, (nuint)i);
            if (typeof(T) == typeof(int))
            {
                // q − zp can leave int32; take it exactly in double, then round once to float32.
                var v = block.As<T, int>();
                var z = p.ZeroPoint(i);
                var lower = Vector256.ConvertToDouble(Vector256.WidenLower(v)) - Vector256.ConvertToDouble(Vector256.WidenLower(z));
                var upper = Vector256.ConvertToDouble(Vector256.WidenUpper(v)) - Vector256.ConvertToDouble(Vector256.WidenUpper(z));
                (Vector256.Narrow(lower, upper) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);
            }
            else if (typeof(T) == typeof(short))
            {
                var v = block.As<T, short>();
                DequantizeNarrowV256(Vector256.WidenLower(v), p, i, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(v), p, i + lanes, ref ys);
            }
            else if (typeof(T) == typeof(ushort))
            {
                var v = block.As<T, ushort>();
                DequantizeNarrowV256(Vector256.WidenLower(v).AsInt32(), p, i, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(v).AsInt32(), p, i + lanes, ref ys);
            }
            else if (typeof(T) == typeof(sbyte))
            {
                var v = block.As<T, sbyte>();
                var a = Vector256.WidenLower(v);
                var b = Vector256.WidenUpper(v);
                DequantizeNarrowV256(Vector256.WidenLower(a), p, i, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(a), p, i + lanes, ref ys);
                DequantizeNarrowV256(Vector256.WidenLower(b), p, i + 2 * lanes, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(b), p, i + 3 * lanes, ref ys);
            }
            else
            {
                var v = block.As<T, byte>();
                var a = Vector256.WidenLower(v);
                var b = Vector256.WidenUpper(v);
                DequantizeNarrowV256(Vector256.WidenLower(a).AsInt32(), p, i, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(a).AsInt32(), p, i + lanes, ref ys);
                DequantizeNarrowV256(Vector256.WidenLower(b).AsInt32(), p, i + 2 * lanes, ref ys);
                DequantizeNarrowV256(Vector256.WidenUpper(b).AsInt32(), p, i + 3 * lanes, ref ys);
            }
        }

        return i;
    }

    /// <summary>8- and 16-bit sources: q − zp is a small integer, exact in int32 and in float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeNarrowV256(Vector256<int> q, in ParamsV256 p, int i, ref float ys) =>
        (Vector256.ConvertToSingle(q - p.ZeroPoint(i)) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);

    /// <summary>Fake-quantizes whole vectors; returns how many values it wrote.</summary>
    private static int FakeQuantizeV256(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<float> invScales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax)
    {
        int n = x.Length, step = Vector256<float>.Count, i = 0;
        var p = new ParamsV256(scales, zeroPoints);
        bool broadcast = invScales.Length == 1;
        var invB = Vector256.Create(invScales[0]);
        var lo = Vector256.Create((float)quantMin);
        var hi = Vector256.Create((float)quantMax);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float inv = ref MemoryMarshal.GetReference(invScales);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (; i <= n - step; i += step)
        {
            var z = p.ZeroPointSingle(i);
            var scaled = Vector256.LoadUnsafe(ref xs, (nuint)i) * (broadcast ? invB : Vector256.LoadUnsafe(ref inv, (nuint)i));
            var q = z + Vector256Ops.Round(scaled);
            var c = Vector256Ops.MinNative(Vector256Ops.MaxNative(q, lo), hi);
            c = Vector256.ConditionalSelect(Vector256.Equals(q, q), c, lo); // NaN → quantMin, as PyTorch's fmax
            ((c - z) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);
        }

        return i;
    }

    /// <summary>Scale and zero point vectors for value <c>i</c> of a run: broadcast from one channel, or loaded per value.</summary>
    private readonly ref struct ParamsV256
    {
        private readonly ReadOnlySpan<float> _scales;
        private readonly ReadOnlySpan<int> _zeroPoints;
        private readonly bool _broadcast;
        private readonly Vector256<float> _scale;
        private readonly Vector256<int> _zeroPoint;
        private readonly Vector256<float> _zeroPointSingle;

        public ParamsV256(ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        {
            _scales = scales;
            _zeroPoints = zeroPoints;
            _broadcast = scales.Length == 1;
            _scale = Vector256.Create(scales[0]);
            _zeroPoint = Vector256.Create(zeroPoints[0]);
            _zeroPointSingle = Vector256.Create((float)zeroPoints[0]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Scale(int i) =>
            _broadcast ? _scale : Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(_scales), (nuint)i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> ZeroPoint(int i) =>
            _broadcast ? _zeroPoint : Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i);

        /// <summary>The zero point as float32; exact for the 8- and 16-bit ranges it is used with.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> ZeroPointSingle(int i) =>
            _broadcast ? _zeroPointSingle : Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i));
    }
}
