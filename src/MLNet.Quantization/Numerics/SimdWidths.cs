using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNet.Quantization.Numerics;

// The three vector widths of the quantize kernels. Each struct only names its width's operation for each member of
// ISimdWidth; the arithmetic is in SimdKernels, once. The three bodies are the same text with the width changed.

/// <summary>The <see cref="ISimdWidth{TFloats, TInts, TDoubles}"/> of <see cref="Vector128{T}"/>: each member is Vector128's member of that name.</summary>
internal readonly struct Simd128 : ISimdWidth<Vector128<float>, Vector128<int>, Vector128<double>>
{
    public static int Count => Vector128<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source, nuint index) => Vector128.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load(ref int source, nuint index) => Vector128.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nuint index) => value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Create(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Create(int value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> Create(double value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SubtractInt32(Vector128<int> a, Vector128<int> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> AddDouble(Vector128<double> a, Vector128<double> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> SubtractDouble(Vector128<double> a, Vector128<double> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Round(Vector128<float> value) => Vector128Ops.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MinNative(Vector128<float> a, Vector128<float> b) => Vector128Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> MinNativeDouble(Vector128<double> a, Vector128<double> b) => Vector128Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> MaxNativeDouble(Vector128<double> a, Vector128<double> b) => Vector128Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectWhereNotNaN(Vector128<float> test, Vector128<float> value, Vector128<float> ifNaN) =>
        Vector128.ConditionalSelect(Vector128.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> SelectWhereNotNaNDouble(Vector128<double> test, Vector128<double> value, Vector128<double> ifNaN) =>
        Vector128.ConditionalSelect(Vector128.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> ConvertToInt32(Vector128<float> value) => Vector128.ConvertToInt32(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ConvertToSingle(Vector128<int> value) => Vector128.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<double> Lower, Vector128<double> Upper) WidenToDouble(Vector128<float> value) =>
        (Vector128.WidenLower(value), Vector128.WidenUpper(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<double> Lower, Vector128<double> Upper) WidenToDouble(Vector128<int> value) =>
        (Vector128.ConvertToDouble(Vector128.WidenLower(value)), Vector128.ConvertToDouble(Vector128.WidenUpper(value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> NarrowToInt32(Vector128<double> lower, Vector128<double> upper) =>
        Vector128.Narrow(Vector128.ConvertToInt64(lower), Vector128.ConvertToInt64(upper));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> NarrowToSingle(Vector128<double> lower, Vector128<double> upper) => Vector128.Narrow(lower, upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector128<int> a)
        where T : unmanaged =>
        a.As<int, T>().StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector128<int> a, Vector128<int> b)
        where T : unmanaged =>
        (typeof(T) == typeof(short)
            ? Vector128.Narrow(a, b).As<short, T>()
            : Vector128.Narrow(a.AsUInt32(), b.AsUInt32()).As<ushort, T>()).StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d)
        where T : unmanaged =>
        (typeof(T) == typeof(sbyte)
            ? Vector128.Narrow(Vector128.Narrow(a, b), Vector128.Narrow(c, d)).As<sbyte, T>()
            : Vector128.Narrow(Vector128.Narrow(a.AsUInt32(), b.AsUInt32()), Vector128.Narrow(c.AsUInt32(), d.AsUInt32())).As<byte, T>())
        .StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load<T>(ref T source, nuint index)
        where T : unmanaged =>
        Vector128.LoadUnsafe(ref source, index).As<T, int>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector128<int> a, out Vector128<int> b)
        where T : unmanaged
    {
        if (typeof(T) == typeof(short))
        {
            var v = Vector128.LoadUnsafe(ref source, index).As<T, short>();
            a = Vector128.WidenLower(v);
            b = Vector128.WidenUpper(v);
        }
        else
        {
            var u = Vector128.LoadUnsafe(ref source, index).As<T, ushort>();
            a = Vector128.WidenLower(u).AsInt32();
            b = Vector128.WidenUpper(u).AsInt32();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector128<int> a, out Vector128<int> b, out Vector128<int> c, out Vector128<int> d)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var v = Vector128.LoadUnsafe(ref source, index).As<T, sbyte>();
            var lo = Vector128.WidenLower(v);
            var hi = Vector128.WidenUpper(v);
            a = Vector128.WidenLower(lo);
            b = Vector128.WidenUpper(lo);
            c = Vector128.WidenLower(hi);
            d = Vector128.WidenUpper(hi);
        }
        else
        {
            var u = Vector128.LoadUnsafe(ref source, index).As<T, byte>();
            var lo = Vector128.WidenLower(u);
            var hi = Vector128.WidenUpper(u);
            a = Vector128.WidenLower(lo).AsInt32();
            b = Vector128.WidenUpper(lo).AsInt32();
            c = Vector128.WidenLower(hi).AsInt32();
            d = Vector128.WidenUpper(hi).AsInt32();
        }
    }
}

/// <summary>The <see cref="ISimdWidth{TFloats, TInts, TDoubles}"/> of <see cref="Vector256{T}"/>: each member is Vector256's member of that name.</summary>
internal readonly struct Simd256 : ISimdWidth<Vector256<float>, Vector256<int>, Vector256<double>>
{
    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nuint index) => Vector256.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(ref int source, nuint index) => Vector256.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nuint index) => value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Create(int value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Create(double value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SubtractInt32(Vector256<int> a, Vector256<int> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> AddDouble(Vector256<double> a, Vector256<double> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> SubtractDouble(Vector256<double> a, Vector256<double> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> value) => Vector256Ops.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> MinNativeDouble(Vector256<double> a, Vector256<double> b) => Vector256Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> MaxNativeDouble(Vector256<double> a, Vector256<double> b) => Vector256Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectWhereNotNaN(Vector256<float> test, Vector256<float> value, Vector256<float> ifNaN) =>
        Vector256.ConditionalSelect(Vector256.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> SelectWhereNotNaNDouble(Vector256<double> test, Vector256<double> value, Vector256<double> ifNaN) =>
        Vector256.ConditionalSelect(Vector256.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ConvertToInt32(Vector256<float> value) => Vector256.ConvertToInt32(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConvertToSingle(Vector256<int> value) => Vector256.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<double> Lower, Vector256<double> Upper) WidenToDouble(Vector256<float> value) =>
        (Vector256.WidenLower(value), Vector256.WidenUpper(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<double> Lower, Vector256<double> Upper) WidenToDouble(Vector256<int> value) =>
        (Vector256.ConvertToDouble(Vector256.WidenLower(value)), Vector256.ConvertToDouble(Vector256.WidenUpper(value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> NarrowToInt32(Vector256<double> lower, Vector256<double> upper) =>
        Vector256.Narrow(Vector256.ConvertToInt64(lower), Vector256.ConvertToInt64(upper));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NarrowToSingle(Vector256<double> lower, Vector256<double> upper) => Vector256.Narrow(lower, upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector256<int> a)
        where T : unmanaged =>
        a.As<int, T>().StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector256<int> a, Vector256<int> b)
        where T : unmanaged =>
        (typeof(T) == typeof(short)
            ? Vector256.Narrow(a, b).As<short, T>()
            : Vector256.Narrow(a.AsUInt32(), b.AsUInt32()).As<ushort, T>()).StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector256<int> a, Vector256<int> b, Vector256<int> c, Vector256<int> d)
        where T : unmanaged =>
        (typeof(T) == typeof(sbyte)
            ? Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).As<sbyte, T>()
            : Vector256.Narrow(Vector256.Narrow(a.AsUInt32(), b.AsUInt32()), Vector256.Narrow(c.AsUInt32(), d.AsUInt32())).As<byte, T>())
        .StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load<T>(ref T source, nuint index)
        where T : unmanaged =>
        Vector256.LoadUnsafe(ref source, index).As<T, int>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector256<int> a, out Vector256<int> b)
        where T : unmanaged
    {
        if (typeof(T) == typeof(short))
        {
            var v = Vector256.LoadUnsafe(ref source, index).As<T, short>();
            a = Vector256.WidenLower(v);
            b = Vector256.WidenUpper(v);
        }
        else
        {
            var u = Vector256.LoadUnsafe(ref source, index).As<T, ushort>();
            a = Vector256.WidenLower(u).AsInt32();
            b = Vector256.WidenUpper(u).AsInt32();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector256<int> a, out Vector256<int> b, out Vector256<int> c, out Vector256<int> d)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var v = Vector256.LoadUnsafe(ref source, index).As<T, sbyte>();
            var lo = Vector256.WidenLower(v);
            var hi = Vector256.WidenUpper(v);
            a = Vector256.WidenLower(lo);
            b = Vector256.WidenUpper(lo);
            c = Vector256.WidenLower(hi);
            d = Vector256.WidenUpper(hi);
        }
        else
        {
            var u = Vector256.LoadUnsafe(ref source, index).As<T, byte>();
            var lo = Vector256.WidenLower(u);
            var hi = Vector256.WidenUpper(u);
            a = Vector256.WidenLower(lo).AsInt32();
            b = Vector256.WidenUpper(lo).AsInt32();
            c = Vector256.WidenLower(hi).AsInt32();
            d = Vector256.WidenUpper(hi).AsInt32();
        }
    }
}

/// <summary>The <see cref="ISimdWidth{TFloats, TInts, TDoubles}"/> of <see cref="Vector512{T}"/>: each member is Vector512's member of that name.</summary>
internal readonly struct Simd512 : ISimdWidth<Vector512<float>, Vector512<int>, Vector512<double>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nuint index) => Vector512.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(ref int source, nuint index) => Vector512.LoadUnsafe(ref source, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nuint index) => value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Create(int value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Create(double value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SubtractInt32(Vector512<int> a, Vector512<int> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> AddDouble(Vector512<double> a, Vector512<double> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> SubtractDouble(Vector512<double> a, Vector512<double> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> value) => Vector512Ops.Round(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> MinNativeDouble(Vector512<double> a, Vector512<double> b) => Vector512Ops.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> MaxNativeDouble(Vector512<double> a, Vector512<double> b) => Vector512Ops.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectWhereNotNaN(Vector512<float> test, Vector512<float> value, Vector512<float> ifNaN) =>
        Vector512.ConditionalSelect(Vector512.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> SelectWhereNotNaNDouble(Vector512<double> test, Vector512<double> value, Vector512<double> ifNaN) =>
        Vector512.ConditionalSelect(Vector512.Equals(test, test), value, ifNaN);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> ConvertToInt32(Vector512<float> value) => Vector512.ConvertToInt32(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConvertToSingle(Vector512<int> value) => Vector512.ConvertToSingle(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<double> Lower, Vector512<double> Upper) WidenToDouble(Vector512<float> value) =>
        (Vector512.WidenLower(value), Vector512.WidenUpper(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<double> Lower, Vector512<double> Upper) WidenToDouble(Vector512<int> value) =>
        (Vector512.ConvertToDouble(Vector512.WidenLower(value)), Vector512.ConvertToDouble(Vector512.WidenUpper(value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> NarrowToInt32(Vector512<double> lower, Vector512<double> upper) =>
        Vector512.Narrow(Vector512.ConvertToInt64(lower), Vector512.ConvertToInt64(upper));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NarrowToSingle(Vector512<double> lower, Vector512<double> upper) => Vector512.Narrow(lower, upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector512<int> a)
        where T : unmanaged =>
        a.As<int, T>().StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector512<int> a, Vector512<int> b)
        where T : unmanaged =>
        (typeof(T) == typeof(short)
            ? Vector512.Narrow(a, b).As<short, T>()
            : Vector512.Narrow(a.AsUInt32(), b.AsUInt32()).As<ushort, T>()).StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ref T destination, nuint index, Vector512<int> a, Vector512<int> b, Vector512<int> c, Vector512<int> d)
        where T : unmanaged =>
        (typeof(T) == typeof(sbyte)
            ? Vector512.Narrow(Vector512.Narrow(a, b), Vector512.Narrow(c, d)).As<sbyte, T>()
            : Vector512.Narrow(Vector512.Narrow(a.AsUInt32(), b.AsUInt32()), Vector512.Narrow(c.AsUInt32(), d.AsUInt32())).As<byte, T>())
        .StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load<T>(ref T source, nuint index)
        where T : unmanaged =>
        Vector512.LoadUnsafe(ref source, index).As<T, int>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector512<int> a, out Vector512<int> b)
        where T : unmanaged
    {
        if (typeof(T) == typeof(short))
        {
            var v = Vector512.LoadUnsafe(ref source, index).As<T, short>();
            a = Vector512.WidenLower(v);
            b = Vector512.WidenUpper(v);
        }
        else
        {
            var u = Vector512.LoadUnsafe(ref source, index).As<T, ushort>();
            a = Vector512.WidenLower(u).AsInt32();
            b = Vector512.WidenUpper(u).AsInt32();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load<T>(ref T source, nuint index, out Vector512<int> a, out Vector512<int> b, out Vector512<int> c, out Vector512<int> d)
        where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte))
        {
            var v = Vector512.LoadUnsafe(ref source, index).As<T, sbyte>();
            var lo = Vector512.WidenLower(v);
            var hi = Vector512.WidenUpper(v);
            a = Vector512.WidenLower(lo);
            b = Vector512.WidenUpper(lo);
            c = Vector512.WidenLower(hi);
            d = Vector512.WidenUpper(hi);
        }
        else
        {
            var u = Vector512.LoadUnsafe(ref source, index).As<T, byte>();
            var lo = Vector512.WidenLower(u);
            var hi = Vector512.WidenUpper(u);
            a = Vector512.WidenLower(lo).AsInt32();
            b = Vector512.WidenUpper(lo).AsInt32();
            c = Vector512.WidenLower(hi).AsInt32();
            d = Vector512.WidenUpper(hi).AsInt32();
        }
    }
}
