using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Tests.Numerics;

[TestClass]
[DoNotParallelize]
public sealed class QuantizeKernelsTests
{
    [TestCleanup]
    public void Reset() => QuantizeKernels.ForceScalar = false;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void QuantizeRoundsHalfToEvenAndSaturates(bool scalar)
    {
        QuantizeKernels.ForceScalar = scalar;
        // scale 1, zp 0: 0.5→0, 1.5→2, 2.5→2, -0.5→0, -1.5→-2 (ties to even); 300→255, -7→0 (saturation); NaN→zp
        float[] x = [0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300f, -7f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3.49f, 3.51f];
        var u8 = new byte[x.Length];
        QuantizeKernels.Quantize<byte>(x, 1f, 0, 0, 255, u8);
        CollectionAssert.AreEqual(new byte[] { 0, 2, 2, 0, 0, 255, 0, 0, 255, 0, 3, 4 }, u8);

        var s8 = new sbyte[x.Length];
        QuantizeKernels.Quantize<sbyte>(x, 1f, 0, -128, 127, s8);
        CollectionAssert.AreEqual(new sbyte[] { 0, 2, 2, 0, -2, 127, -7, 0, 127, -128, 3, 4 }, s8);
    }

    [TestMethod]
    public void QuantizeUsesDivisionAndZeroPoint()
    {
        // scale 0.1, zp 10: 0.25 / 0.1 = 2.5 → 2 (even) → 12; -1.0 / 0.1 = -10 → 0; 0.05/0.1 = 0.5 → 0 → 10
        float[] x = [0.25f, -1.0f, 0.05f];
        var q = new byte[3];
        QuantizeKernels.Quantize<byte>(x, 0.1f, 10, 0, 255, q);
        var expected = x.Select(v => (byte)Math.Clamp(MathF.Round(v / 0.1f, MidpointRounding.ToEven) + 10, 0, 255)).ToArray();
        CollectionAssert.AreEqual(expected, q);
        Assert.AreEqual((byte)0, q[1]);
    }

    [TestMethod]
    public void DequantizeSubtractsZeroPointThenScales()
    {
        byte[] q = [0, 10, 12, 255];
        var x = new float[4];
        QuantizeKernels.Dequantize<byte>(q, 0.1f, 10, x);
        // (0-10)*0.1 = -1, 0, (12-10)*0.1 = 0.2, 245*0.1 = 24.5
        CollectionAssert.AreEqual(new[] { -10 * 0.1f, 0f, 2 * 0.1f, 245 * 0.1f }, x);
    }

    [TestMethod]
    public void PerChannelOnAxis1()
    {
        // 2×3 tensor, axis 1 scales [1, 0.5, 0.25], zp 0, int8
        float[] x = [1f, 1f, 1f, -2f, -2f, -2f];
        var qp = new QParams([1f, 0.5f, 0.25f], [0, 0, 0], QuantDataType.Int8, axis: 1);
        var q = new sbyte[6];
        QuantizeKernels.Quantize<sbyte>(x, [2, 3], qp, q);
        CollectionAssert.AreEqual(new sbyte[] { 1, 2, 4, -2, -4, -8 }, q);
        var back = new float[6];
        QuantizeKernels.Dequantize<sbyte>(q, [2, 3], qp, back);
        CollectionAssert.AreEqual(x, back);
    }

    [TestMethod]
    public void PerChannelOnAxis0()
    {
        // 2×2 tensor, axis 0 scales [0.5, 2], zp [0, 1], uint8
        float[] x = [1f, 2f, 4f, -2f];
        var qp = new QParams([0.5f, 2f], [0, 1], QuantDataType.UInt8, axis: 0);
        var q = new byte[4];
        QuantizeKernels.Quantize<byte>(x, [2, 2], qp, q);
        // row 0: 1/0.5=2, 2/0.5=4; row 1: 4/2+1=3, -2/2+1=0
        CollectionAssert.AreEqual(new byte[] { 2, 4, 3, 0 }, q);
    }

    [TestMethod]
    public void ChannelCountMismatchIsAnError()
    {
        var qp = new QParams([1f, 1f], [0, 0], QuantDataType.Int8, axis: 0);
        Assert.ThrowsExactly<ArgumentException>(() => QuantizeKernels.Quantize<sbyte>(new float[6], [3, 2], qp, new sbyte[6]));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void FakeQuantizeMatchesPyTorchFormula(bool scalar)
    {
        QuantizeKernels.ForceScalar = scalar;
        // scale 0.5, zp 2, [0, 15]: inv = 2; x=1.25 → 2 + round(2.5)=2+2=4 → (4-2)*0.5 = 1.0
        // x=-3 → 2 + (-6) = -4 → clamp 0 → (0-2)*0.5 = -1.0; x=10 → 2+20=22 → 15 → 6.5; x=0.75 → 2+round(1.5)=4 → 1.0
        float[] x = [1.25f, -3f, 10f, 0.75f, 0f, 0.2f, 0.3f, 0.1f, 2f];
        var y = new float[x.Length];
        QuantizeKernels.FakeQuantize(x, 0.5f, 2, 0, 15, y);
        CollectionAssert.AreEqual(new[] { 1.0f, -1.0f, 6.5f, 1.0f, 0f, 0f, 0.5f, 0f, 2f }, y);
    }

    [TestMethod]
    public void SimdAndScalarAgreeBitForBit()
    {
        var rng = new Random(1234);
        int n = 1031; // not a multiple of the vector width
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (i % 7) switch
            {
                0 => (rng.Next(-600, 600)) * 0.5f * 0.02f, // exact ties of x / 0.02 in many cases
                1 => float.NaN,
                2 => i % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                3 => -0f,
                _ => (float)(rng.NextDouble() * 20 - 10),
            };
        }

        foreach (var (scale, zp, min, max) in new[] { (0.02f, 128, 0, 255), (0.0137f, 0, -128, 127), (1f / 3f, 3, 0, 127) })
        {
            QuantizeKernels.ForceScalar = false;
            var simdQ = new int[n];
            var simdF = new float[n];
            QuantizeKernels.Quantize<int>(x, scale, zp, min, max, simdQ);
            QuantizeKernels.FakeQuantize(x, scale, zp, min, max, simdF);
            QuantizeKernels.ForceScalar = true;
            var scalarQ = new int[n];
            var scalarF = new float[n];
            QuantizeKernels.Quantize<int>(x, scale, zp, min, max, scalarQ);
            QuantizeKernels.FakeQuantize(x, scale, zp, min, max, scalarF);
            CollectionAssert.AreEqual(scalarQ, simdQ, $"quantize scale {scale}");
            for (int i = 0; i < n; i++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(scalarF[i]), BitConverter.SingleToInt32Bits(simdF[i]), $"fake quant at {i} ({x[i]})");
        }
    }
}
