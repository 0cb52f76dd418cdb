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
    public void CustomRangeMustIncludeZero() =>
        Assert.ThrowsExactly<ArgumentException>(() => QParamsCalculator.QuantRange(new ObserverOptions(QuantMin: 1, QuantMax: 7)));
}
