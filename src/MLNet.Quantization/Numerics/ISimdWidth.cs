using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNet.Quantization.Numerics;

/// <summary>
/// The vector operations the quantize kernels need, at one vector width: <typeparamref name="TFloats"/>,
/// <typeparamref name="TInts"/> and <typeparamref name="TDoubles"/> are that width's float32, int32 and float64 vectors. The
/// kernels (<see cref="SimdKernels{W, TFloats, TInts, TDoubles}"/>) are written once against this interface; each implementation
/// (<see cref="Simd128"/>, <see cref="Simd256"/>, <see cref="Simd512"/>) maps every member to the member of the same
/// name on <see cref="Vector128"/>, <see cref="Vector256"/> or <see cref="Vector512"/>, and holds no arithmetic of its own.
/// </summary>
internal interface ISimdWidth<TFloats, TInts, TDoubles>
    where TFloats : struct
    where TInts : struct
    where TDoubles : struct
{
    /// <summary>Float32 (and int32) lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract TFloats Load(ref float source, nuint index);

    static abstract TInts Load(ref int source, nuint index);

    static abstract void Store(TFloats value, ref float destination, nuint index);

    static abstract TFloats Create(float value);

    static abstract TInts Create(int value);

    static abstract TDoubles Create(double value);

    static abstract TFloats Add(TFloats a, TFloats b);

    static abstract TFloats Subtract(TFloats a, TFloats b);

    static abstract TFloats Multiply(TFloats a, TFloats b);

    static abstract TFloats Divide(TFloats a, TFloats b);

    static abstract TInts SubtractInt32(TInts a, TInts b);

    static abstract TDoubles AddDouble(TDoubles a, TDoubles b);

    static abstract TDoubles SubtractDouble(TDoubles a, TDoubles b);

    /// <summary>Rounds half to even.</summary>
    static abstract TFloats Round(TFloats value);

    /// <summary>x86's min(a, b): <c>a &lt; b ? a : b</c>, so <paramref name="b"/> when either is NaN.</summary>
    static abstract TFloats MinNative(TFloats a, TFloats b);

    /// <summary>x86's max(a, b): <c>a &gt; b ? a : b</c>, so <paramref name="b"/> when either is NaN.</summary>
    static abstract TFloats MaxNative(TFloats a, TFloats b);

    static abstract TDoubles MinNativeDouble(TDoubles a, TDoubles b);

    static abstract TDoubles MaxNativeDouble(TDoubles a, TDoubles b);

    /// <summary>Each lane of <paramref name="value"/>, or of <paramref name="ifNaN"/> where <paramref name="test"/> is NaN.</summary>
    static abstract TFloats SelectWhereNotNaN(TFloats test, TFloats value, TFloats ifNaN);

    /// <summary>As <see cref="SelectWhereNotNaN(TFloats, TFloats, TFloats)"/> on float64 lanes.</summary>
    static abstract TDoubles SelectWhereNotNaNDouble(TDoubles test, TDoubles value, TDoubles ifNaN);

    /// <summary>Float32 lanes to int32 (their values are integers within int32 range).</summary>
    static abstract TInts ConvertToInt32(TFloats value);

    static abstract TFloats ConvertToSingle(TInts value);

    /// <summary>Float32 lanes to float64, exactly: the lower half of the lanes and the upper half.</summary>
    static abstract (TDoubles Lower, TDoubles Upper) WidenToDouble(TFloats value);

    /// <summary>Int32 lanes to float64, exactly.</summary>
    static abstract (TDoubles Lower, TDoubles Upper) WidenToDouble(TInts value);

    /// <summary>Float64 lanes holding integers within int32 range to one int32 vector.</summary>
    static abstract TInts NarrowToInt32(TDoubles lower, TDoubles upper);

    /// <summary>Float64 lanes to one float32 vector, each rounded once.</summary>
    static abstract TFloats NarrowToSingle(TDoubles lower, TDoubles upper);

    /// <summary>Stores one vector of <typeparamref name="T"/> (int32) from <paramref name="a"/>.</summary>
    static abstract void Store<T>(ref T destination, nuint index, TInts a)
        where T : unmanaged;

    /// <summary>Stores one vector of 16-bit <typeparamref name="T"/> (short or ushort) narrowed from two int32 vectors in range.</summary>
    static abstract void Store<T>(ref T destination, nuint index, TInts a, TInts b)
        where T : unmanaged;

    /// <summary>Stores one vector of 8-bit <typeparamref name="T"/> (sbyte or byte) narrowed from four int32 vectors in range.</summary>
    static abstract void Store<T>(ref T destination, nuint index, TInts a, TInts b, TInts c, TInts d)
        where T : unmanaged;

    /// <summary>Loads one vector of int32 <typeparamref name="T"/>.</summary>
    static abstract TInts Load<T>(ref T source, nuint index)
        where T : unmanaged;

    /// <summary>Loads one vector of 16-bit <typeparamref name="T"/> (short or ushort) widened to two int32 vectors.</summary>
    static abstract void Load<T>(ref T source, nuint index, out TInts a, out TInts b)
        where T : unmanaged;

    /// <summary>Loads one vector of 8-bit <typeparamref name="T"/> (sbyte or byte) widened to four int32 vectors.</summary>
    static abstract void Load<T>(ref T source, nuint index, out TInts a, out TInts b, out TInts c, out TInts d)
        where T : unmanaged;
}
