using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class PerChannelMinMaxObserverTests
{
    // x = [[-1, 2, 0.5], [3, -4, 1]]
    private static readonly float[] X2x3 = [-1f, 2f, 0.5f, 3f, -4f, 1f];

    [TestMethod]
    public void Axis0Of2x3()
    {
        // rows: [-1, 2, 0.5] → [-1, 2]; [3, -4, 1] → [-4, 3]; symmetric int8: scale = max(|min|, max) / 127.5
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0));
        o.Observe(X2x3, [2, 3]);
        CollectionAssert.AreEqual(new[] { -1f, -4f }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 2f, 3f }, o.Maxs!.ToArray());
        var q = o.CalculateQParams();
        CollectionAssert.AreEqual(new[] { 2f / 127.5f, 4f / 127.5f }, q.Scales);
        CollectionAssert.AreEqual(new[] { 0, 0 }, q.ZeroPoints);
        Assert.AreEqual(0, q.Axis);
    }

    [TestMethod]
    public void Axis1Of2x3()
    {
        // columns: [-1, 3], [2, -4] → [-4, 2], [0.5, 1] → widened to [0, 1]
        // affine uint8: col0 scale 4/255, zp round(63.75) = 64; col1 scale 6/255, zp = −round(−4 / (6/255)) = 170; col2 scale 1/255, zp 0
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.UInt8, QScheme.PerChannelAffine, ChannelAxis: 1));
        o.Observe(X2x3, [2, 3]);
        CollectionAssert.AreEqual(new[] { -1f, -4f, 0.5f }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 3f, 2f, 1f }, o.Maxs!.ToArray());
        var q = o.CalculateQParams();
        CollectionAssert.AreEqual(new[] { 4f / 255f, 6f / 255f, 1f / 255f }, q.Scales);
        CollectionAssert.AreEqual(new[] { 64, 170, 0 }, q.ZeroPoints);
        Assert.AreEqual(1, q.Axis);

        var last = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.UInt8, QScheme.PerChannelAffine, ChannelAxis: -1));
        last.Observe(X2x3, [2, 3]);
        CollectionAssert.AreEqual(o.Mins!.ToArray(), last.Mins!.ToArray());
    }

    [TestMethod]
    public void Axis0OfConvWeight()
    {
        // [2,1,2,2] weight: channel 0 values 1..4, channel 1 values -8..-5
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0));
        o.Observe([1f, 2f, 3f, 4f, -8f, -7f, -6f, -5f], [2, 1, 2, 2]);
        CollectionAssert.AreEqual(new[] { 1f, -8f }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 4f, -5f }, o.Maxs!.ToArray());
    }

    [TestMethod]
    public void NonFiniteValuesAreIgnoredPerChannel()
    {
        // [50, 3] on the last axis: channel c holds r + 10c for rows r = 0..49; NaN and ±Inf are planted in channels 0 and 2,
        // and channel 1 is all NaN in a second [2, 3] batch.
        var x = new float[150];
        for (int r = 0; r < 50; r++)
            for (int c = 0; c < 3; c++)
                x[r * 3 + c] = r + 10 * c;
        x[7 * 3] = float.NaN;
        x[0 * 3 + 2] = float.NegativeInfinity;
        x[49 * 3 + 2] = float.PositiveInfinity;
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 1));
        o.Observe(x, [50, 3]);
        o.Observe([1f, float.NaN, 25f, 2f, float.NaN, 26f], [2, 3]);
        // channel 0: 0..49 (row 7 dropped); channel 1: 10..59; channel 2: rows 1..48 → 21..68
        CollectionAssert.AreEqual(new[] { 0f, 10f, 21f }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 49f, 59f, 68f }, o.Maxs!.ToArray());

        // same data on axis 0 of the transpose [3, 50] (contiguous channels)
        var t = new float[150];
        for (int r = 0; r < 50; r++)
            for (int c = 0; c < 3; c++)
                t[c * 50 + r] = x[r * 3 + c];
        var o0 = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0));
        o0.Observe(t, [3, 50]);
        CollectionAssert.AreEqual(new[] { 0f, 10f, 21f }, o0.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 49f, 59f, 68f }, o0.Maxs!.ToArray());
    }

    [TestMethod]
    public void ChannelWithoutFiniteValuesGetsDefaultQParams()
    {
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric));
        o.Observe([float.NaN, float.NaN, -1f, 2f], [2, 2]);
        var q = o.CalculateQParams();
        // channel 0 saw nothing finite: scale 1, zp 0; channel 1: 2 / 127.5
        CollectionAssert.AreEqual(new[] { 1f, 2f / 127.5f }, q.Scales);
        Assert.IsTrue(o.HasObservations);
    }

    [TestMethod]
    public void NothingObservedGivesPyTorchDefault()
    {
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric));
        Assert.IsFalse(o.HasObservations);
        Assert.AreEqual(0, o.ChannelCount);
        // PyTorch returns tensor([1.0]), tensor([0]) when min_val is empty
        var q = o.CalculateQParams();
        Assert.IsFalse(q.IsPerChannel);
        Assert.AreEqual(1f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
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
    public void ChannelCountMustNotChange()
    {
        var o = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric));
        o.Observe(new float[6], [2, 3]);
        Assert.ThrowsExactly<ArgumentException>(() => o.Observe(new float[6], [3, 2]));
        Assert.ThrowsExactly<ArgumentException>(() => o.Observe(new float[1], Array.Empty<int>())); // a scalar has no channel axis
        var axis3 = new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 3));
        Assert.ThrowsExactly<ArgumentException>(() => axis3.Observe(new float[6], [2, 3]));
        Assert.ThrowsExactly<ArgumentException>(() => new PerChannelMinMaxObserver(new ObserverOptions(QScheme: QScheme.PerTensorAffine)));
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        var opts = new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 1);
        var rng = new Random(3);
        var batches = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 4 * 6).Select(_ => (float)(rng.NextDouble() * 10 - 5)).ToArray()).ToArray();
        var seq = new PerChannelMinMaxObserver(opts);
        foreach (var b in batches)
            seq.Observe(b, [4, 6]);
        var a = new PerChannelMinMaxObserver(opts);
        var rest = new PerChannelMinMaxObserver(opts);
        a.Observe(batches[0], [4, 6]);
        a.Observe(batches[1], [4, 6]);
        foreach (var b in batches.Skip(2))
            rest.Observe(b, [4, 6]);
        a.Merge(rest);
        CollectionAssert.AreEqual(seq.Mins!.ToArray(), a.Mins!.ToArray());
        CollectionAssert.AreEqual(seq.Maxs!.ToArray(), a.Maxs!.ToArray());
        CollectionAssert.AreEqual(seq.CalculateQParams().Scales, a.CalculateQParams().Scales);

        var wrong = new PerChannelMinMaxObserver(opts);
        wrong.Observe(new float[6], [3, 2]);
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(wrong));
    }
}
