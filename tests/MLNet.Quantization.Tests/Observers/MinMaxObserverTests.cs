using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class MinMaxObserverTests
{
    [TestMethod]
    public void TracksRunningRangeAcrossBatches()
    {
        var o = new MinMaxObserver();
        o.Observe([0.5f, 1.0f]);
        o.Observe([-1.0f, 3.0f, 2.0f]);
        Assert.AreEqual(-1f, o.Min);
        Assert.AreEqual(3f, o.Max);
        // affine uint8 over [-1, 3]: scale = 4/255 = 0.015686275; zp = 0 − round(−1 / 0.015686275) = round(63.75) = 64
        var q = o.CalculateQParams();
        Assert.AreEqual(4f / 255f, q.Scale);
        Assert.AreEqual(0.015686275f, q.Scale);
        Assert.AreEqual(64, q.ZeroPoint);
    }

    [TestMethod]
    public void SymmetricScalesByTheLargerMagnitude()
    {
        // [-2.5, 1.0]: scale = max(2.5, 1) / ((127 − (−128)) / 2) = 2.5 / 127.5 = 0.019607844; int8 zp 0, uint8 zp 128
        var s8 = new MinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerTensorSymmetric));
        s8.Observe([-2.5f, 0.3f, 1.0f]);
        var q = s8.CalculateQParams();
        Assert.AreEqual(2.5f / 127.5f, q.Scale);
        Assert.AreEqual(0.019607844f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
        var u8 = new MinMaxObserver(new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorSymmetric));
        u8.Observe([-2.5f, 0.3f, 1.0f]);
        Assert.AreEqual(2.5f / 127.5f, u8.CalculateQParams().Scale);
        Assert.AreEqual(128, u8.CalculateQParams().ZeroPoint);
    }

    [TestMethod]
    public void ReduceRangeUsesSevenBits()
    {
        // uint8 reduced to [0, 127] over [-1, 3]: scale = 4/127, zp = round(31.75) = 32
        var o = new MinMaxObserver(new ObserverOptions(ReduceRange: true));
        o.Observe([-1f, 3f]);
        var q = o.CalculateQParams();
        Assert.AreEqual(4f / 127f, q.Scale);
        Assert.AreEqual(32, q.ZeroPoint);
        Assert.AreEqual(127, q.QuantMax);
    }

    [TestMethod]
    public void PositiveRangeIsWidenedToZero()
    {
        // observed [2, 5] → [0, 5]: scale = 5/255; zp = qmin − round(0) = qmin: 0 for uint8, −128 for int8
        var u8 = new MinMaxObserver();
        u8.Observe([2f, 5f, 3f]);
        Assert.AreEqual(5f / 255f, u8.CalculateQParams().Scale);
        Assert.AreEqual(0, u8.CalculateQParams().ZeroPoint);
        var s8 = new MinMaxObserver(new ObserverOptions(QuantDataType.Int8));
        s8.Observe([2f, 5f, 3f]);
        Assert.AreEqual(-128, s8.CalculateQParams().ZeroPoint);
    }

    [TestMethod]
    public void NonFiniteValuesAreIgnored()
    {
        var o = new MinMaxObserver();
        o.Observe([float.NaN, 2f, float.PositiveInfinity, -0.5f, float.NegativeInfinity]);
        Assert.AreEqual(-0.5f, o.Min);
        Assert.AreEqual(2f, o.Max);

        // a long batch takes the vectorized filtered path: the NaN and infinities never widen the range
        var big = Enumerable.Range(0, 1000).Select(i => (i % 97) * 0.01f - 0.3f).ToArray(); // range [-0.3, 0.66]
        big[511] = float.NaN;
        big[3] = float.NegativeInfinity;
        big[998] = float.PositiveInfinity;
        var b = new MinMaxObserver();
        b.Observe(big);
        Assert.AreEqual(-0.3f, b.Min);
        Assert.AreEqual(96 * 0.01f - 0.3f, b.Max);

        var onlyNaN = new MinMaxObserver();
        onlyNaN.Observe([float.NaN, float.PositiveInfinity]);
        Assert.IsFalse(onlyNaN.HasObservations);
        // nothing finite: PyTorch's default, scale 1 and zero point 0
        Assert.AreEqual(1f, onlyNaN.CalculateQParams().Scale);
        Assert.AreEqual(0, onlyNaN.CalculateQParams().ZeroPoint);
    }

    [TestMethod]
    public void AllZeroTensorGivesEpsScale()
    {
        // [0, 0]: scale = max(0 / 255, eps) = eps = 2^-12 = 0.000244140625; zp = 0 − round(0) = 0
        var o = new MinMaxObserver(new ObserverOptions(Eps: 1f / 4096f));
        o.Observe(new float[100]);
        var q = o.CalculateQParams();
        Assert.AreEqual(0.000244140625f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        float[] a = [0.1f, -2f, 0.7f], b = [5f, 0.2f];
        var seq = new MinMaxObserver();
        seq.Observe(a);
        seq.Observe(b);
        var oa = new MinMaxObserver();
        oa.Observe(a);
        var ob = new MinMaxObserver();
        ob.Observe(b);
        oa.Merge(ob);
        oa.Merge(new MinMaxObserver()); // an empty observer changes nothing
        Assert.AreEqual(seq.Min, oa.Min);
        Assert.AreEqual(seq.Max, oa.Max);
        Assert.AreEqual(-2f, oa.Min);
        Assert.AreEqual(5f, oa.Max);
        var empty = new MinMaxObserver();
        empty.Merge(oa);
        Assert.AreEqual(-2f, empty.Min);
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new MinMaxObserver(new ObserverOptions(QuantDataType.Int8))));
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new PlaceholderObserver()));
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new MovingAverageMinMaxObserver()));
    }

    [TestMethod]
    public void InvalidSettingsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver(new ObserverOptions(QScheme: QScheme.PerChannelAffine)));
        // PyTorch: "Cannot reduce range for symmetric quantization for quint8"
        Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver(new ObserverOptions(QuantDataType.UInt8, QScheme.PerTensorSymmetric, ReduceRange: true)));
        Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver().Observe(new float[5], [2, 3]));
    }

    [TestMethod]
    public void CreateEmptyKeepsOptionsAndDropsState()
    {
        var o = new MinMaxObserver(new ObserverOptions(QuantDataType.Int8));
        o.Observe([1f]);
        var e = o.CreateEmpty();
        Assert.IsInstanceOfType<MinMaxObserver>(e);
        Assert.AreEqual(o.Options, e.Options);
        Assert.IsFalse(e.HasObservations);
    }
}
