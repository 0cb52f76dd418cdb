using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// The vector paths of <see cref="QuantizeKernels"/>, written once for every width <typeparamref name="W"/>. A run is a
/// contiguous stretch of values with one scale and zero point (broadcast) or one per value. Each kernel is one block
/// operation over whole vectors and a shared loop; the last block overlaps the one before it instead of leaving a
/// scalar tail (every value depends on its own input and parameters only, so computing a value twice gives it twice).
/// Each lane reproduces the scalar definition bit for bit (see the remarks on <see cref="QuantizeKernels"/>).
/// </summary>
/// <typeparam name="W">The vector width.</typeparam>
/// <typeparam name="TFloats">Its float32 vector.</typeparam>
/// <typeparam name="TInts">Its int32 vector.</typeparam>
/// <typeparam name="TDoubles">Its float64 vector.</typeparam>
internal static class SimdKernels<W, TFloats, TInts, TDoubles>
    where W : struct, ISimdWidth<TFloats, TInts, TDoubles>
    where TFloats : struct
    where TInts : struct
    where TDoubles : struct
{
    /// <summary>Values of <typeparamref name="T"/> in one block: one vector of <typeparamref name="T"/>, 1, 2 or 4 of float32.</summary>
    public static int BlockLength<T>()
        where T : unmanaged => W.Count * (sizeof(int) / Unsafe.SizeOf<T>());

    /// <summary>Quantizes a run of at least <see cref="BlockLength{T}"/> values.</summary>
    public static void Quantize<T>(ReadOnlySpan<float> x, Span<T> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, int quantMin, int quantMax)
        where T : unmanaged, IBinaryInteger<T>
    {
        var p = new RunParams(scales, [], zeroPoints, quantMin, quantMax);
        if (scales.Length == 1)
            QuantizeLoop<T, BroadcastRun>(x, y, p);
        else
            QuantizeLoop<T, PerValueRun>(x, y, p);
    }

    private static void QuantizeLoop<T, TRun>(ReadOnlySpan<float> x, Span<T> y, in RunParams p)
        where T : unmanaged
        where TRun : struct, IRunLayout
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        int n = x.Length, step = BlockLength<T>(), i = 0;
        for (; i <= n - step; i += step)
            QuantizeBlock<T, TRun>(ref xs, ref ys, i, p);
        if (i < n)
            QuantizeBlock<T, TRun>(ref xs, ref ys, n - step, p);
    }

    /// <summary>Dequantizes a run of at least <see cref="BlockLength{T}"/> values.</summary>
    public static void Dequantize<T>(ReadOnlySpan<T> q, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
        where T : unmanaged, IBinaryInteger<T>
    {
        var p = new RunParams(scales, [], zeroPoints, 0, 0);
        if (scales.Length == 1)
            DequantizeLoop<T, BroadcastRun>(q, y, p);
        else
            DequantizeLoop<T, PerValueRun>(q, y, p);
    }

    private static void DequantizeLoop<T, TRun>(ReadOnlySpan<T> q, Span<float> y, in RunParams p)
        where T : unmanaged
        where TRun : struct, IRunLayout
    {
        ref T qs = ref MemoryMarshal.GetReference(q);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int n = q.Length, step = BlockLength<T>(), i = 0;
        for (; i <= n - step; i += step)
            DequantizeBlock<T, TRun>(ref qs, ref ys, i, p);
        if (i < n)
            DequantizeBlock<T, TRun>(ref qs, ref ys, n - step, p);
    }

    /// <summary>
    /// Fake-quantizes a run of at least <see cref="ISimdWidth{TFloats, TInts, TDoubles}.Count"/> values; <paramref name="y"/> may be
    /// <paramref name="x"/> itself, so the overlapping last block is computed from the input before the loop overwrites it.
    /// </summary>
    public static void FakeQuantize(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> scales, ReadOnlySpan<float> invScales, ReadOnlySpan<int> zeroPoints,
        int quantMin, int quantMax)
    {
        var p = new RunParams(scales, invScales, zeroPoints, quantMin, quantMax);
        if (scales.Length == 1)
            FakeQuantizeLoop<BroadcastRun>(x, y, p);
        else
            FakeQuantizeLoop<PerValueRun>(x, y, p);
    }

    private static void FakeQuantizeLoop<TRun>(ReadOnlySpan<float> x, Span<float> y, in RunParams p)
        where TRun : struct, IRunLayout
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int n = x.Length, step = W.Count, i = 0;
        var last = FakeQuantizeBlock<TRun>(ref xs, n - step, p);
        for (; i <= n - step; i += step)
            W.Store(FakeQuantizeBlock<TRun>(ref xs, i, p), ref ys, (nuint)i);
        if (i < n)
            W.Store(last, ref ys, (nuint)(n - step));
    }

    // ---------------------------------------------------------------- one block

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuantizeBlock<T, TRun>(ref float xs, ref T ys, int i, in RunParams p)
        where T : unmanaged
        where TRun : struct, IRunLayout
    {
        int lanes = W.Count;
        if (typeof(T) == typeof(int))
            W.Store(ref ys, (nuint)i, QuantizeWide<TRun>(ref xs, i, p));
        else if (typeof(T) == typeof(short) || typeof(T) == typeof(ushort))
            W.Store(ref ys, (nuint)i, QuantizeNarrow<TRun>(ref xs, i, p), QuantizeNarrow<TRun>(ref xs, i + lanes, p));
        else
            W.Store(ref ys, (nuint)i, QuantizeNarrow<TRun>(ref xs, i, p), QuantizeNarrow<TRun>(ref xs, i + lanes, p),
                QuantizeNarrow<TRun>(ref xs, i + 2 * lanes, p), QuantizeNarrow<TRun>(ref xs, i + 3 * lanes, p));
    }

    /// <summary>
    /// 8- and 16-bit targets: <c>round(x / s) + zp</c> in float32 is exact wherever it can land inside the range
    /// (|bounds| ≤ 65535 ≪ 2^24), so clamping it there equals the scalar definition's double arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TInts QuantizeNarrow<TRun>(ref float xs, int i, in RunParams p)
        where TRun : struct, IRunLayout
    {
        var q = W.Add(W.Round(W.Divide(W.Load(ref xs, (nuint)i), p.Scale<TRun>(i))), p.ZeroPointSingle<TRun>(i));
        var c = W.MinNative(W.MaxNative(q, p.LowSingle), p.HighSingle);
        return W.ConvertToInt32(W.SelectWhereNotNaN(q, c, p.LowSingle)); // NaN → quantMin
    }

    /// <summary>int32 targets: the rounded quotient plus the zero point in double (exact), clamped, then narrowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TInts QuantizeWide<TRun>(ref float xs, int i, in RunParams p)
        where TRun : struct, IRunLayout
    {
        var (r0, r1) = W.WidenToDouble(W.Round(W.Divide(W.Load(ref xs, (nuint)i), p.Scale<TRun>(i))));
        var (z0, z1) = W.WidenToDouble(p.ZeroPoint<TRun>(i));
        return W.NarrowToInt32(ClampDouble(W.AddDouble(r0, z0), p), ClampDouble(W.AddDouble(r1, z1), p));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TDoubles ClampDouble(TDoubles v, in RunParams p)
    {
        var c = W.MinNativeDouble(W.MaxNativeDouble(v, p.LowDouble), p.HighDouble);
        return W.SelectWhereNotNaNDouble(v, c, p.LowDouble);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeBlock<T, TRun>(ref T qs, ref float ys, int i, in RunParams p)
        where T : unmanaged
        where TRun : struct, IRunLayout
    {
        int lanes = W.Count;
        if (typeof(T) == typeof(int))
        {
            // q − zp can leave int32; take it exactly in double, then round once to float32.
            var (q0, q1) = W.WidenToDouble(W.Load(ref qs, (nuint)i));
            var (z0, z1) = W.WidenToDouble(p.ZeroPoint<TRun>(i));
            W.Store(W.Multiply(W.NarrowToSingle(W.SubtractDouble(q0, z0), W.SubtractDouble(q1, z1)), p.Scale<TRun>(i)), ref ys, (nuint)i);
        }
        else if (typeof(T) == typeof(short) || typeof(T) == typeof(ushort))
        {
            W.Load(ref qs, (nuint)i, out var a, out var b);
            DequantizeNarrow<TRun>(a, ref ys, i, p);
            DequantizeNarrow<TRun>(b, ref ys, i + lanes, p);
        }
        else
        {
            W.Load(ref qs, (nuint)i, out var a, out var b, out var c, out var d);
            DequantizeNarrow<TRun>(a, ref ys, i, p);
            DequantizeNarrow<TRun>(b, ref ys, i + lanes, p);
            DequantizeNarrow<TRun>(c, ref ys, i + 2 * lanes, p);
            DequantizeNarrow<TRun>(d, ref ys, i + 3 * lanes, p);
        }
    }

    /// <summary>8- and 16-bit sources: q − zp is a small integer, exact in int32 and in float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeNarrow<TRun>(TInts q, ref float ys, int i, in RunParams p)
        where TRun : struct, IRunLayout =>
        W.Store(W.Multiply(W.ConvertToSingle(W.SubtractInt32(q, p.ZeroPoint<TRun>(i))), p.Scale<TRun>(i)), ref ys, (nuint)i);

    /// <summary>PyTorch's <c>(clamp(zp + nearbyint(x · inv), qmin, qmax) − zp) · scale</c>, NaN → quantMin as its fmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TFloats FakeQuantizeBlock<TRun>(ref float xs, int i, in RunParams p)
        where TRun : struct, IRunLayout
    {
        var z = p.ZeroPointSingle<TRun>(i);
        var q = W.Add(z, W.Round(W.Multiply(W.Load(ref xs, (nuint)i), p.InvScale<TRun>(i))));
        var c = W.SelectWhereNotNaN(q, W.MinNative(W.MaxNative(q, p.LowSingle), p.HighSingle), p.LowSingle);
        return W.Multiply(W.Subtract(c, z), p.Scale<TRun>(i));
    }

    /// <summary>A run's parameters as vectors for value <c>i</c>: broadcast from one channel, or loaded per value.</summary>
    private readonly ref struct RunParams
    {
        private readonly ReadOnlySpan<float> _scales;
        private readonly ReadOnlySpan<float> _invScales;
        private readonly ReadOnlySpan<int> _zeroPoints;
        private readonly TFloats _scale;
        private readonly TFloats _invScale;
        private readonly TInts _zeroPoint;
        private readonly TFloats _zeroPointSingle;

        /// <summary>
        /// <paramref name="scales"/>, <paramref name="invScales"/> (empty unless fake quantizing) and <paramref name="zeroPoints"/>
        /// hold one value (broadcast) or one per value of the run.
        /// </summary>
        public RunParams(ReadOnlySpan<float> scales, ReadOnlySpan<float> invScales, ReadOnlySpan<int> zeroPoints, int quantMin, int quantMax)
        {
            _scales = scales;
            _invScales = invScales;
            _zeroPoints = zeroPoints;
            _scale = W.Create(scales[0]);
            _invScale = invScales.IsEmpty ? default : W.Create(invScales[0]);
            _zeroPoint = W.Create(zeroPoints[0]);
            _zeroPointSingle = W.Create((float)zeroPoints[0]);
            LowSingle = W.Create((float)quantMin);
            HighSingle = W.Create((float)quantMax);
            LowDouble = W.Create((double)quantMin);
            HighDouble = W.Create((double)quantMax);
        }

        public TFloats LowSingle { get; }

        public TFloats HighSingle { get; }

        public TDoubles LowDouble { get; }

        public TDoubles HighDouble { get; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TFloats Scale<TRun>(int i)
            where TRun : struct, IRunLayout => TRun.Broadcast ? _scale : W.Load(ref MemoryMarshal.GetReference(_scales), (nuint)i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TFloats InvScale<TRun>(int i)
            where TRun : struct, IRunLayout => TRun.Broadcast ? _invScale : W.Load(ref MemoryMarshal.GetReference(_invScales), (nuint)i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TInts ZeroPoint<TRun>(int i)
            where TRun : struct, IRunLayout => TRun.Broadcast ? _zeroPoint : W.Load(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i);

        /// <summary>The zero point as float32; exact for the 8- and 16-bit ranges it is used with.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TFloats ZeroPointSingle<TRun>(int i)
            where TRun : struct, IRunLayout =>
            TRun.Broadcast ? _zeroPointSingle : W.ConvertToSingle(W.Load(ref MemoryMarshal.GetReference(_zeroPoints), (nuint)i));
    }
}

/// <summary>Whether a run's parameters are one value broadcast over the run, as a type, so each loop is compiled for one.</summary>
internal interface IRunLayout
{
    /// <summary>True when one scale and zero point serve the whole run; false when there is one per value.</summary>
    static abstract bool Broadcast { get; }
}

/// <summary>One scale and zero point for the whole run.</summary>
internal readonly struct BroadcastRun : IRunLayout
{
    public static bool Broadcast => true;
}

/// <summary>One scale and zero point per value of the run.</summary>
internal readonly struct PerValueRun : IRunLayout
{
    public static bool Broadcast => false;
}
