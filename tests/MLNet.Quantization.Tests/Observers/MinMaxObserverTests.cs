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
        // [-1, 3] → scale 4/255, zp round(63.75) = 64
        var q = o.CalculateQParams();
        Assert.AreEqual(4f / 255f, q.Scale);
        Assert.AreEqual(64, q.ZeroPoint);
    }

    [TestMethod]
    public void NonFiniteValuesAreIgnored()
    {
        var o = new MinMaxObserver();
        o.Observe([float.NaN, 2f, float.PositiveInfinity, -0.5f, float.NegativeInfinity]);
        Assert.AreEqual(-0.5f, o.Min);
        Assert.AreEqual(2f, o.Max);
        var onlyNaN = new MinMaxObserver();
        onlyNaN.Observe([float.NaN, float.NaN]);
        Assert.IsFalse(onlyNaN.HasObservations);
        Assert.AreEqual(1f, onlyNaN.CalculateQParams().Scale);
    }

    [TestMethod]
    public void AllZeroTensorGivesEpsScale()
    {
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
        Assert.AreEqual(seq.Min, oa.Min);
        Assert.AreEqual(seq.Max, oa.Max);
        Assert.AreEqual(seq.CalculateQParams().Scale, oa.CalculateQParams().Scale);
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new MinMaxObserver(new ObserverOptions(QuantDataType.Int8))));
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new PlaceholderObserver()));
    }

    [TestMethod]
    public void ShapeMustMatchValues() =>
        Assert.ThrowsExactly<ArgumentException>(() => new MinMaxObserver().Observe(new float[5], [2, 3]));
}

[TestClass]
public sealed class MovingAverageMinMaxObserverTests
{
    [TestMethod]
    public void FirstBatchSetsRangeThenAverages()
    {
        var o = new MovingAverageMinMaxObserver();
        o.Observe([-1f, 1f]);
        o.Observe([-3f, 11f]);
        // min = -1 + 0.01 * (-3 - -1) = -1.02; max = 1 + 0.01 * (11 - 1) = 1.1
        Assert.AreEqual(-1f + 0.01f * (-3f - -1f), o.Min);
        Assert.AreEqual(1f + 0.01f * (11f - 1f), o.Max);
        Assert.AreEqual(-1.02f, o.Min, 1e-7f);
        Assert.AreEqual(1.1f, o.Max, 1e-7f);
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        var batches = new[] { new[] { -1f, 2f }, new[] { -4f, 0.5f }, new[] { 0f, 8f }, new[] { -2f, 3f }, new[] { -0.5f, 1f } };
        var seq = new MovingAverageMinMaxObserver(averagingConstant: 0.3f);
        foreach (var b in batches)
            seq.Observe(b);
        var a = new MovingAverageMinMaxObserver(averagingConstant: 0.3f);
        var rest = new MovingAverageMinMaxObserver(averagingConstant: 0.3f);
        a.Observe(batches[0]);
        a.Observe(batches[1]);
        foreach (var b in batches.Skip(2))
            rest.Observe(b);
        a.Merge(rest);
        // exact in real arithmetic; float32 rounding differs by a few ulps
        Assert.AreEqual(seq.Min, a.Min, 1e-5f);
        Assert.AreEqual(seq.Max, a.Max, 1e-5f);
    }
}

[TestClass]
public sealed class PerChannelMinMaxObserverTests
{
    [TestMethod]
    public void ReducesOverAllButTheChannelAxis()
    {
        // 2×3 tensor [[1, -2, 3], [-4, 5, 0.5]] on axis 1: channel ranges [-4,1], [-2,5], [0.5,3]
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 1));
        o.Observe([1f, -2f, 3f, -4f, 5f, 0.5f], [2, 3]);
        CollectionAssert.AreEqual(new[] { -4f, -2f, 0.5f }, o.Mins);
        CollectionAssert.AreEqual(new[] { 1f, 5f, 3f }, o.Maxs);
        var q = o.CalculateQParams();
        // symmetric int8: scale = max(|min|, max) / 127.5 per channel; channel 2 range widened to [0, 3]
        CollectionAssert.AreEqual(new[] { 4f / 127.5f, 5f / 127.5f, 3f / 127.5f }, q.Scales);
        Assert.AreEqual(1, q.Axis);
    }

    [TestMethod]
    public void Axis0OfConvWeight()
    {
        // [2,1,2,2] weight: channel 0 values 1..4, channel 1 values -8..-5
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0));
        o.Observe([1f, 2f, 3f, 4f, -8f, -7f, -6f, -5f], [2, 1, 2, 2]);
        CollectionAssert.AreEqual(new[] { 1f, -8f }, o.Mins);
        CollectionAssert.AreEqual(new[] { 4f, -5f }, o.Maxs);
    }

    [TestMethod]
    public void AllZeroChannelGetsEpsScale()
    {
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, Eps: 1f / 4096f));
        o.Observe([0f, 0f, 1f, -1f], [2, 2]);
        var q = o.CalculateQParams();
        Assert.AreEqual(1f / 4096f, q.Scales[0]);
        Assert.AreEqual(1f / 127.5f, q.Scales[1]);
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        var opts = new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0);
        float[] a = [1f, -2f, 3f, 4f], b = [-9f, 0f, 2f, 10f];
        var seq = new PerChannelMinMaxObserver(opts);
        seq.Observe(a, [2, 2]);
        seq.Observe(b, [2, 2]);
        var oa = new PerChannelMinMaxObserver(opts);
        oa.Observe(a, [2, 2]);
        var ob = new PerChannelMinMaxObserver(opts);
        ob.Observe(b, [2, 2]);
        oa.Merge(ob);
        CollectionAssert.AreEqual(seq.Mins, oa.Mins);
        CollectionAssert.AreEqual(seq.Maxs, oa.Maxs);
        var wrong = new PerChannelMinMaxObserver(opts);
        wrong.Observe(new float[6], [3, 2]);
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(wrong));
    }

    [TestMethod]
    public void MovingAveragePerChannelMergeEqualsSequential()
    {
        var opts = new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0);
        var batches = new[] { new[] { 1f, -2f, 3f, 4f }, new[] { -9f, 0f, 2f, 10f }, new[] { 0.5f, 0.25f, -1f, 1f } };
        var seq = new MovingAveragePerChannelMinMaxObserver(opts, 0.25f);
        foreach (var b in batches)
            seq.Observe(b, [2, 2]);
        // second batch: channel 0 min = 1 + 0.25 * (-9 - 1)... first batch mins [-2, 3]; second [-9, 2] → -2 + 0.25*(-7) = -3.75
        var two = new MovingAveragePerChannelMinMaxObserver(opts, 0.25f);
        two.Observe(batches[0], [2, 2]);
        two.Observe(batches[1], [2, 2]);
        Assert.AreEqual(-3.75f, two.Mins![0]);
        var first = new MovingAveragePerChannelMinMaxObserver(opts, 0.25f);
        first.Observe(batches[0], [2, 2]);
        var rest = new MovingAveragePerChannelMinMaxObserver(opts, 0.25f);
        rest.Observe(batches[1], [2, 2]);
        rest.Observe(batches[2], [2, 2]);
        first.Merge(rest);
        for (int c = 0; c < 2; c++)
        {
            Assert.AreEqual(seq.Mins![c], first.Mins![c], 1e-5f);
            Assert.AreEqual(seq.Maxs![c], first.Maxs![c], 1e-5f);
        }
    }
}

[TestClass]
public sealed class PlaceholderObserverTests
{
    [TestMethod]
    public void RecordsDtypeOnlyAndHasNoQParams()
    {
        var o = new PlaceholderObserver(new ObserverOptions(QuantDataType.UInt8));
        o.Observe([1f, 2f]);
        Assert.AreEqual(QuantDataType.UInt8, o.DataType);
        Assert.IsFalse(o.HasObservations);
        Assert.ThrowsExactly<InvalidOperationException>(() => o.CalculateQParams());
        o.Merge(new PlaceholderObserver(new ObserverOptions(QuantDataType.UInt8)));
        Assert.ThrowsExactly<ArgumentException>(() => o.Merge(new PlaceholderObserver(new ObserverOptions(QuantDataType.Int8))));
    }
}
