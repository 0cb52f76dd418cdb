// Vector512 paths of QuantizeKernels. QuantizeKernels.Vector256.cs is this file with every vector type halved
// (Vector512 → Vector256, Vector256 → Vector128, V512 → V256); keep the two in step.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MLNet.Quantization.Numerics;

public static partial class QuantizeKernels
{
    /// <summary>
    /// Quantizes whole Vector512&lt;T&gt; blocks of <paramref name="x"/> (16 int32, 32 16-bit or 64 8-bit values per step) and
    /// returns how many values it wrote; the caller finishes the tail with the scalar definition.
    /// </summary>
    private static int QuantizeV512<T>(ReadOnlySpan<float> x, Span<T> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, int quantMin, int quantMax)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = x.Length, step = Vector512<T>.Count, lanes = Vector512<float>.Count, i = 0;
        var p = new ParamsV512(scales, zeroPoints);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        if (typeof(T) == typeof(int))
        {
            var lo = Vector512.Create((double)quantMin);
            var hi = Vector512.Create((double)quantMax);
            for (; i <= n - step; i += step)
                QuantizeWideV512(ref xs, p, i, lo, hi).As<int, T>().StoreUnsafe(ref ys, (nuint)i);
            return i;
        }

        var flo = Vector512.Create((float)quantMin);
        var fhi = Vector512.Create((float)quantMax);
        for (; i <= n - step; i += step)
        {
            Vector512<T> block;
            if (typeof(T) == typeof(short))
            {
                block = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i, flo, fhi), QuantizeNarrowV512(ref xs, p, i + lanes, flo, fhi)).As<short, T>();
            }
            else if (typeof(T) == typeof(ushort))
            {
                block = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i, flo, fhi).AsUInt32(),
                    QuantizeNarrowV512(ref xs, p, i + lanes, flo, fhi).AsUInt32()).As<ushort, T>();
            }
            else if (typeof(T) == typeof(sbyte))
            {
                var a = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i, flo, fhi), QuantizeNarrowV512(ref xs, p, i + lanes, flo, fhi));
                var b = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i + 2 * lanes, flo, fhi), QuantizeNarrowV512(ref xs, p, i + 3 * lanes, flo, fhi));
                block = Vector512.Narrow(a, b).As<sbyte, T>();
            }
            else
            {
                var a = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i, flo, fhi).AsUInt32(), QuantizeNarrowV512(ref xs, p, i + lanes, flo, fhi).AsUInt32());
                var b = Vector512.Narrow(QuantizeNarrowV512(ref xs, p, i + 2 * lanes, flo, fhi).AsUInt32(), QuantizeNarrowV512(ref xs, p, i + 3 * lanes, flo, fhi).AsUInt32());
                block = Vector512.Narrow(a, b).As<byte, T>();
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
    private static Vector512<int> QuantizeNarrowV512(ref float xs, in ParamsV512 p, int i, Vector512<float> lo, Vector512<float> hi)
    {
        var q = Vector512Ops.Round(Vector512.LoadUnsafe(ref xs, (nuint)i) / p.Scale(i)) + p.ZeroPointSingle(i);
        var c = Vector512Ops.MinNative(Vector512Ops.MaxNative(q, lo), hi);
        c = Vector512.ConditionalSelect(Vector512.Equals(q, q), c, lo); // NaN → quantMin
        return Vector512.ConvertToInt32(c);
    }

    /// <summary>int32 targets: the rounded quotient plus the zero point in double (exact), clamped, then narrowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> QuantizeWideV512(ref float xs, in ParamsV512 p, int i, Vector512<double> lo, Vector512<double> hi)
    {
        var r = Vector512Ops.Round(Vector512.LoadUnsafe(ref xs, (nuint)i) / p.Scale(i));
        var z = p.ZeroPoint(i);
        var a = ClampV512(Vector512.WidenLower(r) + Vector512.ConvertToDouble(Vector512.WidenLower(z)), lo, hi);
        var b = ClampV512(Vector512.WidenUpper(r) + Vector512.ConvertToDouble(Vector512.WidenUpper(z)), lo, hi);
        return Vector512.Narrow(Vector512.ConvertToInt64(a), Vector512.ConvertToInt64(b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ClampV512(Vector512<double> v, Vector512<double> lo, Vector512<double> hi)
    {
        var c = Vector512Ops.MinNative(Vector512Ops.MaxNative(v, lo), hi);
        return Vector512.ConditionalSelect(Vector512.Equals(v, v), c, lo);
    }

    /// <summary>Dequantizes whole Vector512&lt;T&gt; blocks; returns how many values it wrote.</summary>
    private static int DequantizeV512<T>(ReadOnlySpan<T> q, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = q.Length, step = Vector512<T>.Count, lanes = Vector512<float>.Count, i = 0;
        var p = new ParamsV512(scales, zeroPoints);
        ref T qs = ref MemoryMarshal.GetReference(q);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (; i <= n - step; i += step)
        {
            var block = Vector512.LoadUnsafe(ref qs, (nuint)i);
            if (typeof(T) == typeof(int))
            {
                // q − zp can leave int32; take it exactly in double, then round once to float32.
                var v = block.As<T, int>();
                var z = p.ZeroPoint(i);
                var lower = Vector512.ConvertToDouble(Vector512.WidenLower(v)) - Vector512.ConvertToDouble(Vector512.WidenLower(z));
                var upper = Vector512.ConvertToDouble(Vector512.WidenUpper(v)) - Vector512.ConvertToDouble(Vector512.WidenUpper(z));
                (Vector512.Narrow(lower, upper) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);
            }
            else if (typeof(T) == typeof(short))
            {
                var v = block.As<T, short>();
                DequantizeNarrowV512(Vector512.WidenLower(v), p, i, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(v), p, i + lanes, ref ys);
            }
            else if (typeof(T) == typeof(ushort))
            {
                var v = block.As<T, ushort>();
                DequantizeNarrowV512(Vector512.WidenLower(v).AsInt32(), p, i, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(v).AsInt32(), p, i + lanes, ref ys);
            }
            else if (typeof(T) == typeof(sbyte))
            {
                var v = block.As<T, sbyte>();
                var a = Vector512.WidenLower(v);
                var b = Vector512.WidenUpper(v);
                DequantizeNarrowV512(Vector512.WidenLower(a), p, i, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(a), p, i + lanes, ref ys);
                DequantizeNarrowV512(Vector512.WidenLower(b), p, i + 2 * lanes, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(b), p, i + 3 * lanes, ref ys);
            }
            else
            {
                var v = block.As<T, byte>();
                var a = Vector512.WidenLower(v);
                var b = Vector512.WidenUpper(v);
                DequantizeNarrowV512(Vector512.WidenLower(a).AsInt32(), p, i, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(a).AsInt32(), p, i + lanes, ref ys);
                DequantizeNarrowV512(Vector512.WidenLower(b).AsInt32(), p, i + 2 * lanes, ref ys);
                DequantizeNarrowV512(Vector512.WidenUpper(b).AsInt32(), p, i + 3 * lanes, ref ys);
            }
        }

        return i;
    }

    /// <summary>8- and 16-bit sources: q − zp is a small integer, exact in int32 and in float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeNarrowV512(Vector512<int> q, in ParamsV512 p, int i, ref float ys) =>
        (Vector512.ConvertToSingle(q - p.ZeroPoint(i)) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);

    /// <summary>Fake-quantizes whole vectors; returns how many values it wrote.</summary>
    private static int FakeQuantizeV512(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<float> invScales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax)
    {
        int n = x.Length, step = Vector512<float>.Count, i = 0;
        var p = new ParamsV512(scales, zeroPoints);
        bool broadcast = invScales.Length == 1;
        var invB = Vector512.Create(invScales[0]);
        var lo = Vector512.Create((float)quantMin);
        var hi = Vector512.Create((float)quantMax);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float inv = ref MemoryMarshal.GetReference(invScales);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (; i <= n - step; i += step)
        {
            var z = p.ZeroPointSingle(i);
            var scaled = Vector512.LoadUnsafe(ref xs, (nuint)i) * (broadcast ? invB : Vector512.LoadUnsafe(ref inv, (nuint)i));
            var q = z + Vector512Ops.Round(scaled);
            var c = Vector512Ops.MinNative(Vector512Ops.MaxNative(q, lo), hi);
            c = Vector512.ConditionalSelect(Vector512.Equals(q, q), c, lo); // NaN → quantMin, as PyTorch's fmax
            ((c - z) * p.Scale(i)).StoreUnsafe(ref ys, (nuint)i);
        }

        return i;
    }

    /// <summary>Scale and zero point vectors for value <c>i</c> of a run: broadcast from one channel, or loaded per value.</summary>
    private readonly ref struct ParamsV512
    {
        private readonly ReadOnlySpan<float> _scales;
        private readonly ReadOnlySpan<int> _zeroPoints;
        private readonly bool _broadcast;
        private readonly Vector512<float> _scale;
        private readonly Vector512<int> _zeroPoint;
        private readonly Vector512<float> _zeroPointSingle;

        public ParamsV512(ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        {
            _scales = scales;
            _zeroPoints = zeroPoints;
            _broadcast = scales.Length == 1;
            _scale = Vector512.Create(scales[0]);
            _zeroPoint = Vector512.Create(zeroPoints[0]);
            _zeroPointSingle = Vector512.Create((float)zeroPoints[0]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Scale(int i) =>
            _broadcast ? _scale : Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(_scales), (nuint)i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> ZeroPoint(int i) =>
            _broadcast ? _zeroPoint : Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i);

        /// <summary>The zero point as float32; exact for the 8- and 16-bit ranges it is used with.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> ZeroPointSingle(int i) =>
            _broadcast ? _zeroPointSingle : Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i));
    }
}
