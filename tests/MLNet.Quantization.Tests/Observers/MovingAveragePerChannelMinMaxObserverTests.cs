using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class MovingAveragePerChannelMinMaxObserverTests
{
    private static readonly ObserverOptions Axis0 = new(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 0);

    [TestMethod]
    public void FirstBatchSetsRangeThenAverages()
    {
        // [2, 2] on axis 0, c = 0.25. Batch 1 rows [1, -2], [3, 4] → mins [-2, 3], maxs [1, 4].
        // Batch 2 rows [-9, 0], [2, 10] → mins [-9, 2], maxs [0, 10].
        // min0 = −2 + 0.25 · (−9 − (−2)) = −3.75; min1 = 3 + 0.25 · (2 − 3) = 2.75; max0 = 1 + 0.25 · (0 − 1) = 0.75; max1 = 4 + 0.25 · 6 = 5.5
        var o = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.25f);
        o.Observe([1f, -2f, 3f, 4f], [2, 2]);
        o.Observe([-9f, 0f, 2f, 10f], [2, 2]);
        CollectionAssert.AreEqual(new[] { -3.75f, 2.75f }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 0.75f, 5.5f }, o.Maxs!.ToArray());
        // symmetric int8: scales max(|min|, max) / 127.5 = [3.75 / 127.5, 5.5 / 127.5]
        CollectionAssert.AreEqual(new[] { 3.75f / 127.5f, 5.5f / 127.5f }, o.CalculateQParams().Scales);
    }

    [TestMethod]
    public void ChannelWithoutFiniteValuesSkipsThatBatch()
    {
        // batch 2's channel 0 is all NaN: channel 0 keeps batch 1's range and counts one batch; channel 1 averages
        var o = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.5f);
        o.Observe([1f, -2f, 3f, 4f], [2, 2]);
        o.Observe([float.NaN, float.NaN, 0f, 8f], [2, 2]);
        CollectionAssert.AreEqual(new[] { -2f, 3f + 0.5f * (0f - 3f) }, o.Mins!.ToArray());
        CollectionAssert.AreEqual(new[] { 1f, 4f + 0.5f * (8f - 4f) }, o.Maxs!.ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 2 }, o.BatchCounts!.ToArray());
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        // per channel m = m_B + (1 − c)^k (m_A − b1); float32 agreement to 1e-5 relative. Channel 2 misses some batches.
        var rng = new Random(11);
        var batches = Enumerable.Range(0, 9).Select(i =>
        {
            var b = Enumerable.Range(0, 3 * 8).Select(_ => (float)(rng.NextDouble() * 6 - 2)).ToArray();
            if (i % 3 == 1)
                Array.Fill(b, float.NaN, 16, 8); // channel 2 (the third row of [3, 8]) has nothing finite
            return b;
        }).ToArray();
        var seq = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.1f);
        foreach (var b in batches)
            seq.Observe(b, [3, 8]);
        var a = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.1f);
        var rest = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.1f);
        foreach (var b in batches.Take(4))
            a.Observe(b, [3, 8]);
        foreach (var b in batches.Skip(4))
            rest.Observe(b, [3, 8]);
        a.Merge(rest);
        for (int c = 0; c < 3; c++)
        {
            Assert.AreEqual(seq.Mins![c], a.Mins![c], 1e-5f * Math.Abs(seq.Mins[c]));
            Assert.AreEqual(seq.Maxs![c], a.Maxs![c], 1e-5f * Math.Abs(seq.Maxs[c]));
        }

        CollectionAssert.AreEqual(new long[] { 9, 9, 6 }, a.BatchCounts!.ToArray());

        var empty = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.1f);
        empty.Merge(seq);
        CollectionAssert.AreEqual(seq.Mins!.ToArray(), empty.Mins!.ToArray());
        var wrong = new MovingAveragePerChannelMinMaxObserver(Axis0, 0.1f);
        wrong.Observe(new float[4], [2, 2]);
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(wrong));
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(new MovingAveragePerChannelMinMaxObserver(Axis0, 0.2f)));
    }
}
