using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
#if !NET9_0_OR_GREATER
using System.Runtime.Intrinsics.X86;
#endif

namespace MLNet.Quantization.Numerics;

// The three vector operations of the quantize kernels that .NET 9 added (Round, MinNative, MaxNative). On .NET 9 and
// later they forward to the runtime. On .NET 8 they are the same definitions: round half to even (vroundps /
// vrndscaleps to nearest, or MathF.Round lane by lane without AVX), and x86's min / max, "a < b ? a : b" and
// "a > b ? a : b" (b when either is NaN or both are zero), so the kernels' results are bit-identical on both.
#if NET9_0_OR_GREATER
/// <summary>Round / MinNative / MaxNative on <see cref="Vector512{T}"/>.</summary>
internal static class Vector512Ops
{
    public static Vector512<float> Round(Vector512<float> v) => Vector512.Round(v);

    public static Vector512<T> MinNative<T>(Vector512<T> a, Vector512<T> b) => Vector512.MinNative(a, b);

    public static Vector512<T> MaxNative<T>(Vector512<T> a, Vector512<T> b) => Vector512.MaxNative(a, b);
}

/// <summary>Round / MinNative / MaxNative on <see cref="Vector256{T}"/>.</summary>
internal static class Vector256Ops
{
    public static Vector256<float> Round(Vector256<float> v) => Vector256.Round(v);

    public static Vector256<T> MinNative<T>(Vector256<T> a, Vector256<T> b) => Vector256.MinNative(a, b);

    public static Vector256<T> MaxNative<T>(Vector256<T> a, Vector256<T> b) => Vector256.MaxNative(a, b);
}

/// <summary>Round / MinNative / MaxNative on <see cref="Vector128{T}"/>.</summary>
internal static class Vector128Ops
{
    public static Vector128<float> Round(Vector128<float> v) => Vector128.Round(v);

    public static Vector128<T> MinNative<T>(Vector128<T> a, Vector128<T> b) => Vector128.MinNative(a, b);

    public static Vector128<T> MaxNative<T>(Vector128<T> a, Vector128<T> b) => Vector128.MaxNative(a, b);
}
#else
/// <summary>Round / MinNative / MaxNative on <see cref="Vector512{T}"/>, as .NET 9 defines them.</summary>
internal static class Vector512Ops
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> v) =>
        Avx512F.IsSupported ? Avx512F.RoundScale(v, 0x08) : Vector512.Create(Vector256Ops.Round(v.GetLower()), Vector256Ops.Round(v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MinNative<T>(Vector512<T> a, Vector512<T> b) => Vector512.ConditionalSelect(Vector512.LessThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MaxNative<T>(Vector512<T> a, Vector512<T> b) => Vector512.ConditionalSelect(Vector512.GreaterThan(a, b), a, b);
}

/// <summary>Round / MinNative / MaxNative on <see cref="Vector256{T}"/>, as .NET 9 defines them.</summary>
internal static class Vector256Ops
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> v)
    {
        if (Avx.IsSupported)
            return Avx.RoundToNearestInteger(v);
        Span<float> lanes = stackalloc float[Vector256<float>.Count];
        v.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++)
            lanes[i] = MathF.Round(lanes[i]);
        return Vector256.Create<float>(lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MinNative<T>(Vector256<T> a, Vector256<T> b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MaxNative<T>(Vector256<T> a, Vector256<T> b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a, b);
}

/// <summary>Round / MinNative / MaxNative on <see cref="Vector128{T}"/>, as .NET 9 defines them.</summary>
internal static class Vector128Ops
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Round(Vector128<float> v)
    {
        if (Sse41.IsSupported)
            return Sse41.RoundToNearestInteger(v);
        Span<float> lanes = stackalloc float[Vector128<float>.Count];
        v.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++)
            lanes[i] = MathF.Round(lanes[i]);
        return Vector128.Create<float>(lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MinNative<T>(Vector128<T> a, Vector128<T> b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b), a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MaxNative<T>(Vector128<T> a, Vector128<T> b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, b), a, b);
}
#endif

/// <summary>
/// Vector.Min / Vector.Max on floats with .NET 9's IEEE 754 semantics (−0 below +0) on
/// every target framework: .NET 8's returns the second operand when the two compare equal. (No NaN reaches the callers.)
/// </summary>
internal static class VectorOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Min(Vector<float> a, Vector<float> b) =>
#if NET9_0_OR_GREATER
        Vector.Min(a, b);
#else
        Vector.ConditionalSelect(Vector.LessThan(a, b) | (Vector.Equals(a, b) & IsNegative(a)), a, b);
#endif

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Max(Vector<float> a, Vector<float> b) =>
#if NET9_0_OR_GREATER
        Vector.Max(a, b);
#else
        Vector.ConditionalSelect(Vector.GreaterThan(a, b) | (Vector.Equals(a, b) & IsNegative(b)), a, b);
#endif

#if !NET9_0_OR_GREATER
    private static Vector<int> IsNegative(Vector<float> v) => Vector.LessThan(Vector.AsVectorInt32(v), Vector<int>.Zero);
#endif
}
