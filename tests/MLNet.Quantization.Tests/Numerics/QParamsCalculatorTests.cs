using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Numerics;

[TestClass]
public sealed class QParamsCalculatorTests
{
    private const float X86Eps = 1f / 4096f; // 2^-12, the X86 configs' eps

    [TestMethod]
    public void AffineUInt8_WorkedExample()
    {
        // range [-1, 3]: scale = (3 - (-1)) / 255 = 0.015686275; zp = 0 - round(-1 / 0.015686275) = round(63.75) = 64
        var q = QParamsCalculator.Calculate(-1f, 3f, new ObserverOptions());
        Assert.AreEqual(4f / 255f, q.Scale);
        Assert.AreEqual(64, q.ZeroPoint);
        Assert.AreEqual(0, q.QuantMin);
        Assert.AreEqual(255, q.QuantMax);
    }

    [TestMethod]
    public void AffineRangeIsWidenedToIncludeZero()
    {
        // [2, 6] → [0, 6]: scale = 6/255, zp = 0 - round(0) = 0
        var q = QParamsCalculator.Calculate(2f, 6f, new ObserverOptions());
        Assert.AreEqual(6f / 255f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
        // [-6, -2] → [-6, 0]: scale = 6/255, zp = 0 - round(-6 / (6/255)) = 255
        var neg = QParamsCalculator.Calculate(-6f, -2f, new ObserverOptions());
        Assert.AreEqual(255, neg.ZeroPoint);
    }

    [TestMethod]
    public void ZeroPointRoundsHalfToEven()
    {
        // [-0.15625, 15.78125] uint8: scale = 15.9375 / 255 = 0.0625 exactly; min / scale = -2.5 exactly,
        // round half to even gives -2, so zp = 0 - (-2) = 2 (half away from zero would give 3)
        var q = QParamsCalculator.Calculate(-0.15625f, 15.78125f, new ObserverOptions());
        Assert.AreEqual(0.0625f, q.Scale);
        Assert.AreEqual(2, q.ZeroPoint);
    }

    [TestMethod]
    public void SymmetricInt8_WorkedExample()
    {
        // [-2.5, 1]: scale = max(2.5, 1) / ((127 - (-128)) / 2) = 2.5 / 127.5; zp 0
        var q = QParamsCalculator.Calculate(-2.5f, 1f, new ObserverOptions(QuantDataType.Int8, QScheme.PerTensorSymmetric));
        Assert.AreEqual(2.5f / 127.5f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }

    [TestMethod]
    public void SymmetricUInt8HasZeroPoint128()
    {
        // [-1, 2]: scale = 2 / 127.5, zero point fixed at 128 for uint8
        var q = QParamsCalculator.Calculate(-1f, 2f, new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorSymmetric));
        Assert.AreEqual(2f / 127.5f, q.Scale);
        Assert.AreEqual(128, q.ZeroPoint);
    }

    [TestMethod]
    public void ReduceRangeHalvesTheRange()
    {
        Assert.AreEqual((0, 127), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.UInt8, ReduceRange: true)));
        Assert.AreEqual((-64, 63), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.Int8, ReduceRange: true)));
        // [0, 1.27] with 7-bit uint8: scale = 1.27 / 127 = 0.01
        var q = QParamsCalculator.Calculate(0f, 1.27f, new ObserverOptions(ReduceRange: true));
        Assert.AreEqual(1.27f / 127f, q.Scale);
        Assert.AreEqual(127, q.QuantMax);
    }

    [TestMethod]
    public void CustomFourBitRange()
    {
        // int8 storage with range [-8, 7], symmetric over [-1, 0.5]: scale = 1 / ((7 - (-8)) / 2) = 1 / 7.5
        var q = QParamsCalculator.Calculate(-1f, 0.5f, new ObserverOptions(QuantDataType.Int8, QScheme.PerTensorSymmetric, QuantMin: -8, QuantMax: 7));
        Assert.AreEqual(1f / 7.5f, q.Scale);
        Assert.AreEqual(-8, q.QuantMin);
        Assert.AreEqual(7, q.QuantMax);
    }

    [TestMethod]
    public void AllZeroRangeClampsScaleToEps()
    {
        var q = QParamsCalculator.Calculate(0f, 0f, new ObserverOptions(Eps: X86Eps));
        Assert.AreEqual(0.000244140625f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }

    [TestMethod]
    public void InvalidRangeGivesPyTorchDefault()
    {
        var q = QParamsCalculator.Calculate(float.PositiveInfinity, float.NegativeInfinity, new ObserverOptions());
        Assert.AreEqual(1f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }

    [TestMethod]
    public void PerChannelSymmetric()
    {
        // channel 0: [-1, 0.5] → 1/127.5; channel 1: [-0.2, 2.55] → 2.55/127.5 = 0.02
        var q = QParamsCalculator.CalculatePerChannel([-1f, -0.2f], [0.5f, 2.55f], new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0));
        CollectionAssert.AreEqual(new[] { 1f / 127.5f, 2.55f / 127.5f }, q.Scales);
        CollectionAssert.AreEqual(new[] { 0, 0 }, q.ZeroPoints);
        Assert.AreEqual(0, q.Axis);
    }

    [TestMethod]
    public void SymmetricUInt8WithCustomRangeUsesTheFlooredMiddle()
    {
        // PyTorch: a customized uint8 range takes zp = (qmin + qmax) // 2, even when it is the full [0, 255]: 255 // 2 = 127, not 128.
        // [-2.5, 1]: scale = 2.5 / (255 / 2) = 2.5 / 127.5
        var full = QParamsCalculator.Calculate(-2.5f, 1f, new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorSymmetric, QuantMin: 0, QuantMax: 255));
        Assert.AreEqual(127, full.ZeroPoint);
        Assert.AreEqual(2.5f / 127.5f, full.Scale);
        // [0, 15]: zp = 15 // 2 = 7; scale = 2.5 / 7.5
        var nibble = QParamsCalculator.Calculate(-2.5f, 1f, new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorSymmetric, QuantMin: 0, QuantMax: 15));
        Assert.AreEqual(7, nibble.ZeroPoint);
        Assert.AreEqual(2.5f / 7.5f, nibble.Scale);
    }

    [TestMethod]
    public void ReduceRangeAffineWorkedExamples()
    {
        // uint8 (0, 127) over [-1, 3]: scale = 4/127; -1 / (4/127) = -31.75 → -32; zp = 0 + 32 = 32
        var u8 = QParamsCalculator.Calculate(-1f, 3f, new ObserverOptions(QuantDataType.UInt8, ReduceRange: true));
        Assert.AreEqual(4f / 127f, u8.Scale);
        Assert.AreEqual(32, u8.ZeroPoint);
        // int8 (-64, 63) over [-1, 3]: same scale; zp = -64 + 32 = -32
        var s8 = QParamsCalculator.Calculate(-1f, 3f, new ObserverOptions(QuantDataType.Int8, ReduceRange: true));
        Assert.AreEqual(4f / 127f, s8.Scale);
        Assert.AreEqual(-32, s8.ZeroPoint);
        Assert.AreEqual(-64, s8.QuantMin);
        Assert.AreEqual(63, s8.QuantMax);
    }

    [TestMethod]
    public void CustomRangeAffineAndItsReduction()
    {
        // int8 [-8, 7] over [-1, 3]: scale = 4/15 = 0.26666668; -1 / scale = -3.7499998 → -4; zp = -8 + 4 = -4
        var q = QParamsCalculator.Calculate(-1f, 3f, new ObserverOptions(QuantDataType.Int8, QuantMin: -8, QuantMax: 7));
        Assert.AreEqual(4f / 15f, q.Scale);
        Assert.AreEqual(-4, q.ZeroPoint);
        // reduce_range floor-halves a custom range: (-8 // 2, 7 // 2) = (-4, 3); scale = 4/7, -1/scale = -1.75 → -2, zp = -4 + 2 = -2
        var opts = new ObserverOptions(QuantDataType.Int8, QuantMin: -8, QuantMax: 7, ReduceRange: true);
        Assert.AreEqual((-4, 3), QParamsCalculator.QuantRange(opts));
        var r = QParamsCalculator.Calculate(-1f, 3f, opts);
        Assert.AreEqual(4f / 7f, r.Scale);
        Assert.AreEqual(-2, r.ZeroPoint);
        // (-7 // 2, 7 // 2) = (-4, 3): Python floors, it does not truncate toward zero (-3)
        Assert.AreEqual((-4, 3), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.Int8, QuantMin: -7, QuantMax: 7, ReduceRange: true)));
    }

    [TestMethod]
    public void SixteenAndThirtyTwoBitRangesIgnoreReduceRange()
    {
        // calculate_qmin_qmax halves only int8/uint8 defaults
        Assert.AreEqual((-32768, 32767), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.Int16, ReduceRange: true)));
        Assert.AreEqual((0, 65535), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.UInt16, ReduceRange: true)));
        Assert.AreEqual((int.MinValue, int.MaxValue), QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.Int32, ReduceRange: true)));
    }

    [TestMethod]
    public void SymmetricSixteenBitZeroPoints()
    {
        // uint16 symmetric: zp 2^15 = 32768; [-3, 1]: scale = 3 / (65535 / 2) = 3 / 32767.5
        var u16 = QParamsCalculator.Calculate(-3f, 1f, new ObserverOptions(QuantDataType.UInt16, QScheme.PerTensorSymmetric));
        Assert.AreEqual(32768, u16.ZeroPoint);
        Assert.AreEqual(3f / 32767.5f, u16.Scale);
        var s16 = QParamsCalculator.Calculate(-3f, 1f, new ObserverOptions(QuantDataType.Int16, QScheme.PerTensorSymmetric));
        Assert.AreEqual(0, s16.ZeroPoint);
        Assert.AreEqual(3f / 32767.5f, s16.Scale);
    }

    [TestMethod]
    public void Int32RangeDoesNotOverflow()
    {
        // eps must be tiny here: the default 1.19e-7 would clamp these 2^-31-sized scales.
        // affine [-1, 1]: qmax - qmin = 2^32 - 1 → float32 4294967296; scale = 2 / 2^32 = 2^-31;
        // -1 / 2^-31 = -2^31; zp = -2^31 - (-2^31) = 0
        var affine = QParamsCalculator.Calculate(-1f, 1f, new ObserverOptions(QuantDataType.Int32, Eps: 1e-20f));
        Assert.AreEqual(4.656613E-10f, affine.Scale);
        Assert.AreEqual(0, affine.ZeroPoint);
        // symmetric [-1, 3]: (2^32 - 1) / 2 = 2147483647.5 → float32 2^31; scale = 3 / 2^31 = 1.3969839e-9
        var sym = QParamsCalculator.Calculate(-1f, 3f, new ObserverOptions(QuantDataType.Int32, QScheme.PerTensorSymmetric, Eps: 1e-20f));
        Assert.AreEqual(1.3969839E-09f, sym.Scale);
        Assert.AreEqual(0, sym.ZeroPoint);
        // affine [-1, 0]: scale = 1 / 2^32; -1 / scale = -2^32; zp = -2^31 + 2^32 = 2^31 → clamped to int.MaxValue
        // (PyTorch's .to(torch.int) overflows here; 64-bit arithmetic does not)
        var edge = QParamsCalculator.Calculate(-1f, 0f, new ObserverOptions(QuantDataType.Int32, Eps: 1e-20f));
        Assert.AreEqual(int.MaxValue, edge.ZeroPoint);
    }

    [TestMethod]
    public void InvalidRangesAreRejected()
    {
        // PyTorch's check_min_max_valid asserts min <= max
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.Calculate(2f, 1f, new ObserverOptions()));
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.Calculate(float.NaN, 1f, new ObserverOptions()));
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.Calculate(float.NegativeInfinity, 1f, new ObserverOptions()));
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.QuantRange(new ObserverOptions(QuantMin: 0)));
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.QuantRange(new ObserverOptions(QuantDataType.Int8, QuantMin: -200, QuantMax: 10)));
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.QuantRange(new ObserverOptions(QuantMin: 0, QuantMax: 0)));
    }

    [TestMethod]
    public void UnobservedChannelGetsTheDefault()
    {
        // channel 1 saw nothing finite: (+Inf, -Inf) → scale 1, zp 0; channel 0 [-1, 3] affine uint8 → 4/255, 64
        var q = QParamsCalculator.CalculatePerChannel([-1f, float.PositiveInfinity], [3f, float.NegativeInfinity], new ObserverOptions(QScheme: QScheme.PerChannelAffine));
        CollectionAssert.AreEqual(new[] { 4f / 255f, 1f }, q.Scales);
        CollectionAssert.AreEqual(new[] { 64, 0 }, q.ZeroPoints);
    }

    [TestMethod]
    public void CustomRangeMustIncludeZero() =>
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.QuantRange(new ObserverOptions(QuantMin: 1, QuantMax: 7)));
}
