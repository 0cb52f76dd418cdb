using System.Numerics;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Tests.Numerics;

[TestClass]
public sealed class QuantizeKernelsTests
{
    private static readonly KernelPath[] SimdPaths = [KernelPath.Vector128, KernelPath.Vector256, KernelPath.Vector512];

    // ---------------------------------------------------------------- worked numbers, on every path

    [TestMethod]
    public void QuantizeRoundsHalfToEvenAndSaturates()
    {
        // scale 1, zp 0: ties go to even: 0.5→0, 1.5→2, 2.5→2, -0.5→-0→0, -1.5→-2, -2.5→-2; 3.49→3, 3.51→4.
        // uint8 saturates 300→255 and negatives to 0; int8 saturates 300→127, -300→-128.
        // NaN → quantMin (ONNX Runtime's x86 kernels); +Inf → quantMax; -Inf → quantMin; -0 → 0.
        float[] x = [0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, 3.51f, 300f, -300f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f];
        byte[] u8Expected = [0, 2, 2, 0, 0, 0, 3, 4, 255, 0, 0, 255, 0, 0];
        sbyte[] s8Expected = [0, 2, 2, 0, -2, -2, 3, 4, 127, -128, -128, 127, -128, 0];
        foreach (var path in AllPaths())
        {
            var u8 = new byte[x.Length * 5];
            QuantizeKernels.QuantizePerTensor<byte>(Repeat(x, 5), 1f, 0, 0, 255, u8, path);
            CollectionAssert.AreEqual(Repeat(u8Expected, 5), u8, path.ToString());
            var s8 = new sbyte[x.Length * 5];
            QuantizeKernels.QuantizePerTensor<sbyte>(Repeat(x, 5), 1f, 0, -128, 127, s8, path);
            CollectionAssert.AreEqual(Repeat(s8Expected, 5), s8, path.ToString());
        }
    }

    [TestMethod]
    public void QuantizeDividesByScaleThenAddsZeroPoint()
    {
        // scale 0.25 (a power of two, so x / scale is exact), zp 10, uint8:
        // 0.625/0.25 = 2.5 → 2 → 12; 0.875/0.25 = 3.5 → 4 → 14; -2.5/0.25 = -10 → 0; -2.75/0.25 = -11 → -1 → saturates to 0;
        // 61.125/0.25 = 244.5 → 244 → 254; 61.375/0.25 = 245.5 → 246 → 256 → saturates to 255.
        float[] x = [0.625f, 0.875f, -2.5f, -2.75f, 61.125f, 61.375f];
        byte[] expected = [12, 14, 0, 0, 254, 255];
        foreach (var path in AllPaths())
        {
            var q = new byte[x.Length * 13];
            QuantizeKernels.QuantizePerTensor<byte>(Repeat(x, 13), 0.25f, 10, 0, 255, q, path);
            CollectionAssert.AreEqual(Repeat(expected, 13), q, path.ToString());
        }
    }

    [TestMethod]
    public void QuantizeDividesRatherThanMultiplyingByTheReciprocal()
    {
        // scale 0.1f: 1.55f / 0.1f = 15.4999990 in float32 → 15 (ONNX). Multiplying by 1/0.1f = 10f instead gives
        // 1.55f · 10 = 15.5 exactly → 16; the quantizer must give 15.
        var q = new byte[40];
        foreach (var path in AllPaths())
        {
            QuantizeKernels.QuantizePerTensor<byte>(Enumerable.Repeat(1.55f, 40).ToArray(), 0.1f, 0, 0, 255, q, path);
            CollectionAssert.AreEqual(Enumerable.Repeat((byte)15, 40).ToArray(), q, path.ToString());
        }
    }

    [TestMethod]
    public void QuantizeOverloadWithoutBoundsSaturatesToTheTypeRange()
    {
        // int16, scale 0.5, zp -3: 40000 / 0.5 = 80000 → 32767; -1.25 / 0.5 = -2.5 → -2 → -5; uint16: 1e9 → 65535
        var s16 = new short[2];
        QuantizeKernels.Quantize<short>([40000f, -1.25f], 0.5f, -3, s16);
        CollectionAssert.AreEqual(new short[] { 32767, -5 }, s16);
        var u16 = new ushort[1];
        QuantizeKernels.Quantize<ushort>([1e9f], 0.5f, 0, u16);
        Assert.AreEqual((ushort)65535, u16[0]);
    }

    [TestMethod]
    public void QuantizeInt32KeepsEveryIntegerOfTheRange()
    {
        // A bias: scale 2^-10, zp 0. 3.0009765625 = 3073 · 2^-10 → 3073; 2^21 / 2^-10 = 2^31 → saturates to int.MaxValue;
        // with zp = int.MaxValue − 1: 0.0009765625 / 2^-10 = 1 → int.MaxValue; -0.001953125 → -2 → int.MaxValue − 3.
        float scale = 1f / 1024f;
        foreach (var path in AllPaths())
        {
            var q = new int[17 * 3];
            QuantizeKernels.QuantizePerTensor<int>(Repeat([3.0009765625f, 2097152f, -2097152f], 17), scale, 0, int.MinValue, int.MaxValue, q, path);
            CollectionAssert.AreEqual(Repeat([3073, int.MaxValue, int.MinValue], 17), q, path.ToString());
            var r = new int[17 * 2];
            QuantizeKernels.QuantizePerTensor<int>(Repeat([0.0009765625f, -0.001953125f], 17), scale, int.MaxValue - 1, int.MinValue, int.MaxValue, r, path);
            CollectionAssert.AreEqual(Repeat([int.MaxValue, int.MaxValue - 3], 17), r, path.ToString());
        }
    }

    [TestMethod]
    public void DequantizeSubtractsZeroPointThenScales()
    {
        // uint8, scale 4/255 (= 0.015686275), zp 64: q = 0 → (0 − 64)·s = -1.0039216; 64 → 0; 255 → 191·s = 2.9960785
        float s = 4f / 255f;
        byte[] q = [0, 64, 255];
        float[] expected = [-64 * s, 0f, 191 * s];
        foreach (var path in AllPaths())
        {
            var x = new float[q.Length * 30];
            QuantizeKernels.DequantizePerTensor<byte>(Repeat(q, 30), s, 64, x, path);
            CollectionAssert.AreEqual(Repeat(expected, 30), x, path.ToString());
        }

        Assert.AreEqual(-1.0039216f, expected[0], 1e-7f);
        Assert.AreEqual(2.9960785f, expected[2], 1e-7f);
    }

    [TestMethod]
    public void DequantizeInt32DifferenceIsExact()
    {
        // q = int.MaxValue, zp = -1: q − zp = 2^31 exceeds int32 but is exact in double, then 2^31 · 2^-10 = 2^21
        foreach (var path in AllPaths())
        {
            var x = new float[20];
            QuantizeKernels.DequantizePerTensor<int>(Enumerable.Repeat(int.MaxValue, 20).ToArray(), 1f / 1024f, -1, x, path);
            CollectionAssert.AreEqual(Enumerable.Repeat(2097152f, 20).ToArray(), x, path.ToString());
        }
    }

    [TestMethod]
    public void FakeQuantizeMatchesPyTorchFormula()
    {
        // scale 0.5, zp 2, [0, 15]; inv = 1/0.5 = 2: out = (clamp(2 + round(2x), 0, 15) − 2) · 0.5
        // 1.25 → 2 + round(2.5) = 2 + 2 = 4 → 1.0; 0.75 → 2 + round(1.5) = 4 → 1.0; -3 → 2 − 6 = -4 → 0 → -1.0;
        // 10 → 22 → 15 → 6.5; 0.2 → 2 + round(0.4) = 2 → 0; NaN → quantMin 0 → -1.0; +Inf → 15 → 6.5; -Inf → -1.0
        float[] x = [1.25f, 0.75f, -3f, 10f, 0.2f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        float[] expected = [1f, 1f, -1f, 6.5f, 0f, -1f, 6.5f, -1f];
        foreach (var path in AllPaths())
        {
            var y = new float[x.Length * 9];
            QuantizeKernels.FakeQuantizePerTensor(Repeat(x, 9), 0.5f, 2, 0, 15, y, path);
            CollectionAssert.AreEqual(Repeat(expected, 9), y, path.ToString());
        }
    }

    [TestMethod]
    public void FakeQuantizeMultipliesByTheReciprocal()
    {
        // PyTorch: inv_scale = 1.0f / 0.1f = 10f exactly (rounded); 1.55f · 10 = 15.5 → ties to even 16 → 16 · 0.1f = 1.6f.
        // (QuantizeLinear, which divides, gives 15 for the same input.)
        foreach (var path in AllPaths())
        {
            var y = new float[33];
            QuantizeKernels.FakeQuantizePerTensor(Enumerable.Repeat(1.55f, 33).ToArray(), 0.1f, 0, -128, 127, y, path);
            CollectionAssert.AreEqual(Enumerable.Repeat(16 * 0.1f, 33).ToArray(), y, path.ToString());
        }
    }

    [TestMethod]
    public void PerChannelOnAxis0And1Of2x3()
    {
        // x = [[1, 1, 1], [-2, -2, -2]], int8, zp 0.
        // axis 1, scales [1, 0.5, 0.25]: row 0 → [1, 2, 4]; row 1 → [-2, -4, -8]
        // axis 0, scales [0.5, 2], zps [0, 1]: row 0 → 1/0.5 = 2; row 1 → -2/2 + 1 = 0
        float[] x = [1f, 1f, 1f, -2f, -2f, -2f];
        foreach (var path in AllPaths())
        {
            var q1 = new sbyte[6];
            QuantizeKernels.QuantizePerChannel<sbyte>(x, [2, 3], 1, [1f, 0.5f, 0.25f], [0, 0, 0], -128, 127, q1, path);
            CollectionAssert.AreEqual(new sbyte[] { 1, 2, 4, -2, -4, -8 }, q1, path.ToString());
            var q0 = new sbyte[6];
            QuantizeKernels.QuantizePerChannel<sbyte>(x, [2, 3], 0, [0.5f, 2f], [0, 1], -128, 127, q0, path);
            CollectionAssert.AreEqual(new sbyte[] { 2, 2, 2, 0, 0, 0 }, q0, path.ToString());
            var back = new float[6];
            QuantizeKernels.DequantizePerChannel<sbyte>(q1, [2, 3], -1, [1f, 0.5f, 0.25f], [0, 0, 0], back, path);
            CollectionAssert.AreEqual(x, back, path.ToString());
        }
    }

    [TestMethod]
    public void PerChannelWithQParamsUsesItsRangeAndAxis()
    {
        // symmetric int8 restricted to [-127, 127]: -5 / 0.03125 = -160 → clamps to -127 (not -128); axis 2 of [1, 2, 2]
        var qp = new QParams([0.03125f, 1f], [0, 0], QuantDataType.Int8, axis: 2, quantMin: -127, quantMax: 127);
        var q = new sbyte[4];
        QuantizeKernels.Quantize<sbyte>([-5f, -5f, 0.5f, 0.5f], [1, 2, 2], qp, q);
        // channel 0: -160 → -127, 0.5/0.03125 = 16; channel 1: -5, 0.5 → 0 (tie to even)
        CollectionAssert.AreEqual(new sbyte[] { -127, -5, 16, 0 }, q);
        var fq = new float[4];
        QuantizeKernels.FakeQuantize([-5f, -5f, 0.5f, 0.5f], [1, 2, 2], qp, fq);
        CollectionAssert.AreEqual(new[] { -127 * 0.03125f, -5f, 0.5f, 0f }, fq);
    }

    [TestMethod]
    public void InvalidArgumentsAreRejected()
    {
        var qp = new QParams([1f, 1f], [0, 0], QuantDataType.Int8, axis: 0);
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<sbyte>(new float[6], [3, 2], qp, new sbyte[6])); // 3 channels, 2 scales
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<byte>(new float[4], [2, 2], qp, new byte[4])); // int8 qparams, byte values
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<sbyte>(new float[4], [2, 2], new QParams([1f, 1f], [0, 0], QuantDataType.Int8, axis: 2), new sbyte[4]));
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<byte>(new float[3], 0f, 0, new byte[3])); // scale 0
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<byte>(new float[3], 1f, 300, new byte[3])); // zp outside uint8
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<byte>(new float[3], 1f, 0, new byte[2])); // lengths
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.FakeQuantize(new float[3], 1f, 20, 0, 15, new float[3])); // zp outside range
        Assert.ThrowsExactly<NotSupportedException>(() => QuantizeKernels.Quantize<long>(new float[3], 1f, 0, new long[3]));
    }

    [TestMethod]
    public void EmptyTensorsAreFine()
    {
        // zero channels (shape [5, 0]) or zero rows (shape [0, 3]): nothing to write, nothing thrown
        QuantizeKernels.Quantize<byte>([], [5, 0], 1, [], [], 0, 255, Span<byte>.Empty);
        QuantizeKernels.Dequantize<byte>([], [0, 3], 1, [1f, 1f, 1f], [0, 0, 0], Span<float>.Empty);
        QuantizeKernels.FakeQuantize([], [5, 0], -1, [], [], 0, 255, Span<float>.Empty);
        var y = new float[1];
        QuantizeKernels.FakeQuantize([2.5f], [1, 1], 0, [1f], [0], 0, 255, y);
        Assert.AreEqual(2f, y[0]); // 2.5 · 1 → ties to even 2
    }

    // ---------------------------------------------------------------- SIMD paths against the scalar definition, bit for bit

    [TestMethod]
    public void SimdMatchesScalarPerTensorForEveryType()
    {
        var rng = new Random(20240611);
        foreach (int n in Lengths())
        {
            foreach (float scale in new[] { 0.25f, 0.0137f, 1f / 3f, 2f })
            {
                var x = Inputs(rng, n, scale);
                CheckPerTensor<byte>(x, scale, 128, 0, 255);
                CheckPerTensor<byte>(x, scale, 3, 0, 127);
                CheckPerTensor<sbyte>(x, scale, 0, -128, 127);
                CheckPerTensor<sbyte>(x, scale, -5, -64, 63);
                CheckPerTensor<ushort>(x, scale, 32768, 0, 65535);
                CheckPerTensor<short>(x, scale, -7, short.MinValue, short.MaxValue);
                CheckPerTensor<int>(x, scale, 0, int.MinValue, int.MaxValue);
                CheckPerTensor<int>(x, scale / 65536f, int.MaxValue - 100, int.MinValue, int.MaxValue); // values reach past int32
                CheckFakeQuantizePerTensor(x, scale, 10, 0, 255);
                CheckFakeQuantizePerTensor(x, scale, 0, -128, 127);
            }
        }
    }

    [TestMethod]
    public void SimdMatchesScalarPerChannelOnEveryAxis()
    {
        var rng = new Random(77);
        int[][] shapes = [[3, 5, 7], [2, 40], [37, 2], [1, 130], [4, 3, 2, 33], [70]];
        foreach (var shape in shapes)
        {
            int n = shape.Aggregate(1, (a, b) => a * b);
            var x = Inputs(rng, n, 0.05f);
            for (int axis = -1; axis < shape.Length; axis++)
            {
                int channels = shape[axis < 0 ? axis + shape.Length : axis];
                var scales = Enumerable.Range(0, channels).Select(_ => (float)(0.01 + rng.NextDouble() * 0.2)).ToArray();
                scales[0] = 0.25f; // one channel with exact ties
                CheckPerChannel<byte>(x, shape, axis, scales, RandomInts(rng, channels, 0, 255), 0, 255);
                CheckPerChannel<sbyte>(x, shape, axis, scales, new int[channels], -127, 127);
                CheckPerChannel<ushort>(x, shape, axis, scales, RandomInts(rng, channels, 0, 65535), 0, 65535);
                CheckPerChannel<short>(x, shape, axis, scales, RandomInts(rng, channels, -1000, 1000), short.MinValue, short.MaxValue);
                CheckPerChannel<int>(x, shape, axis, scales, RandomInts(rng, channels, int.MinValue, int.MaxValue), int.MinValue, int.MaxValue);
            }
        }
    }

    [TestMethod]
    public void SimdMatchesScalarForDequantize()
    {
        var rng = new Random(5);
        foreach (int n in Lengths())
        {
            CheckDequantize(RandomValues<byte>(rng, n), 0.0137f, 201);
            CheckDequantize(RandomValues<sbyte>(rng, n), 0.5f, -3);
            CheckDequantize(RandomValues<ushort>(rng, n), 1e-3f, 40000);
            CheckDequantize(RandomValues<short>(rng, n), 3.7f, 0);
            CheckDequantize(RandomValues<int>(rng, n), 1f / 3f, -123456789);
            CheckDequantize(RandomValues<int>(rng, n), 1e-9f, int.MinValue);
        }

        var shape = new[] { 3, 4, 50 };
        var q = RandomValues<byte>(rng, 600);
        for (int axis = 0; axis < 3; axis++)
        {
            int channels = shape[axis];
            var scales = Enumerable.Range(0, channels).Select(_ => (float)(rng.NextDouble() + 0.01)).ToArray();
            var zps = RandomInts(rng, channels, 0, 255);
            var expected = new float[600];
            QuantizeKernels.DequantizePerChannel<byte>(q, shape, axis, scales, zps, expected, KernelPath.Scalar);
            foreach (var path in SimdPaths)
            {
                var actual = new float[600];
                QuantizeKernels.DequantizePerChannel<byte>(q, shape, axis, scales, zps, actual, path);
                AssertBits(expected, actual, $"{path} axis {axis}");
            }
        }
    }

    [TestMethod]
    public void FakeQuantizePerChannelMatchesScalarAndMayRunInPlace()
    {
        var rng = new Random(9);
        var shape = new[] { 6, 35 };
        var x = Inputs(rng, 210, 0.1f);
        foreach (int axis in new[] { 0, 1 })
        {
            int channels = shape[axis];
            var scales = Enumerable.Range(0, channels).Select(_ => (float)(0.01 + rng.NextDouble() * 0.3)).ToArray();
            var zps = RandomInts(rng, channels, -10, 10);
            var expected = new float[210];
            QuantizeKernels.FakeQuantizePerChannel(x, shape, axis, scales, zps, -128, 127, expected, KernelPath.Scalar);
            foreach (var path in SimdPaths)
            {
                var inPlace = (float[])x.Clone();
                QuantizeKernels.FakeQuantizePerChannel(inPlace, shape, axis, scales, zps, -128, 127, inPlace, path);
                AssertBits(expected, inPlace, $"{path} axis {axis}");
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static IEnumerable<KernelPath> AllPaths() => [KernelPath.Scalar, .. SimdPaths, KernelPath.Auto];

    /// <summary>Every length up to three Vector512 blocks of bytes and one more (3 · 64 + 1), then a few longer ones.</summary>
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 3 * 64 + 2).Concat([255, 256, 257, 1031]);

    /// <summary>Random values around the quantized range plus the edge cases: exact ties, saturation, ±0, NaN, ±Inf, huge.</summary>
    private static float[] Inputs(Random rng, int n, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = rng.Next(12) switch
            {
                0 => (rng.Next(-400, 400) + 0.5f) * scale, // a tie of x / scale (exact when scale is a power of two)
                1 => rng.Next(-70000, 70000) * scale,
                2 => float.NaN,
                3 => float.PositiveInfinity,
                4 => float.NegativeInfinity,
                5 => -0f,
                6 => 0f,
                7 => (float)(rng.NextDouble() * 2e12 - 1e12), // beyond every saturation bound, even int32's with tiny scales
                8 => rng.Next(2) == 0 ? float.MaxValue : -float.MaxValue,
                _ => (float)((rng.NextDouble() * 2 - 1) * 300 * scale),
            };
        }

        return x;
    }

    private static void CheckPerTensor<T>(float[] x, float scale, int zp, int qmin, int qmax) where T : unmanaged, IBinaryInteger<T>
    {
        var expected = new T[x.Length];
        QuantizeKernels.QuantizePerTensor<T>(x, scale, zp, qmin, qmax, expected, KernelPath.Scalar);
        foreach (var path in SimdPaths)
        {
            var actual = new T[x.Length];
            QuantizeKernels.QuantizePerTensor<T>(x, scale, zp, qmin, qmax, actual, path);
            CollectionAssert.AreEqual(expected, actual, $"{typeof(T).Name} {path} n={x.Length} scale={scale} zp={zp}");
        }
    }

    private static void CheckFakeQuantizePerTensor(float[] x, float scale, int zp, int qmin, int qmax)
    {
        var expected = new float[x.Length];
        QuantizeKernels.FakeQuantizePerTensor(x, scale, zp, qmin, qmax, expected, KernelPath.Scalar);
        foreach (var path in SimdPaths)
        {
            var actual = new float[x.Length];
            QuantizeKernels.FakeQuantizePerTensor(x, scale, zp, qmin, qmax, actual, path);
            AssertBits(expected, actual, $"{path} n={x.Length} scale={scale}");
        }
    }

    private static void CheckPerChannel<T>(float[] x, int[] shape, int axis, float[] scales, int[] zps, int qmin, int qmax) where T : unmanaged, IBinaryInteger<T>
    {
        var expected = new T[x.Length];
        QuantizeKernels.QuantizePerChannel<T>(x, shape, axis, scales, zps, qmin, qmax, expected, KernelPath.Scalar);
        foreach (var path in SimdPaths)
        {
            var actual = new T[x.Length];
            QuantizeKernels.QuantizePerChannel<T>(x, shape, axis, scales, zps, qmin, qmax, actual, path);
            CollectionAssert.AreEqual(expected, actual, $"{typeof(T).Name} {path} shape [{string.Join(",", shape)}] axis {axis}");
        }
    }

    private static void CheckDequantize<T>(T[] q, float scale, int zp) where T : unmanaged, IBinaryInteger<T>
    {
        var expected = new float[q.Length];
        QuantizeKernels.DequantizePerTensor<T>(q, scale, zp, expected, KernelPath.Scalar);
        foreach (var path in SimdPaths)
        {
            var actual = new float[q.Length];
            QuantizeKernels.DequantizePerTensor<T>(q, scale, zp, actual, path);
            AssertBits(expected, actual, $"{typeof(T).Name} {path} n={q.Length}");
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: value {i} is {actual[i]:R}, scalar gives {expected[i]:R}");
        }
    }

    private static T[] RandomValues<T>(Random rng, int n) where T : unmanaged, IBinaryInteger<T>
    {
        var bytes = new byte[n * System.Runtime.InteropServices.Marshal.SizeOf<T>()];
        rng.NextBytes(bytes);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
    }

    private static int[] RandomInts(Random rng, int n, int min, int max) =>
        Enumerable.Range(0, n).Select(_ => (int)rng.NextInt64(min, (long)max + 1)).ToArray();

    private static T[] Repeat<T>(T[] values, int times) => Enumerable.Repeat(values, times).SelectMany(v => v).ToArray();
}
