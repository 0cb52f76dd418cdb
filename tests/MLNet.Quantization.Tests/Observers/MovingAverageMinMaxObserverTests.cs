using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class MovingAverageMinMaxObserverTests
{
    [TestMethod]
    public void FirstBatchSetsRangeThenAverages()
    {
        var o = new MovingAverageMinMaxObserver();
        o.Observe([-1f, 3f]);
        Assert.AreEqual(-1f, o.Min);
        Assert.AreEqual(3f, o.Max);
        o.Observe([-2f, 5f, 0f]);
        // m2 = m1 + 0.01 · (b2 − m1): min = −1 + 0.01 · (−2 − (−1)) = −1.01; max = 3 + 0.01 · (5 − 3) = 3.02 (float32 steps)
        Assert.AreEqual(-1f + 0.01f * (-2f - -1f), o.Min);
        Assert.AreEqual(3f + 0.01f * (5f - 3f), o.Max);
        Assert.AreEqual(-1.01f, o.Min, 1e-6f);
        Assert.AreEqual(3.02f, o.Max, 1e-6f);
        // qparams: scale = (3.02 + 1.01) / 255 = 0.01580392; zp = −round(−1.01 / 0.01580392) = round(63.909) = 64
        var q = o.CalculateQParams();
        Assert.AreEqual((o.Max - o.Min) / 255f, q.Scale);
        Assert.AreEqual(0.01580392f, q.Scale, 1e-8f);
        Assert.AreEqual(64, q.ZeroPoint);
        Assert.AreEqual(2L, o.BatchCount);
    }

    [TestMethod]
    public void BatchWithoutFiniteValuesIsSkipped()
    {
        var o = new MovingAverageMinMaxObserver();
        o.Observe([-1f, 3f]);
        o.Observe([float.NaN, float.PositiveInfinity]);
        o.Observe([-2f, 5f]);
        Assert.AreEqual(2L, o.BatchCount);
        Assert.AreEqual(-1f + 0.01f * (-2f - -1f), o.Min);
    }

    [TestMethod]
    public void AveragingConstantOneKeepsTheLastBatch()
    {
        // c = 1 (PyTorch's dynamic QAT setting): m ← m + 1 · (b − m) = b
        var o = new MovingAverageMinMaxObserver(averagingConstant: 1f);
        o.Observe([-1f, 3f]);
        o.Observe([-0.5f, 0.25f]);
        Assert.AreEqual(-0.5f, o.Min);
        Assert.AreEqual(0.25f, o.Max);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MovingAverageMinMaxObserver(averagingConstant: 0f));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MovingAverageMinMaxObserver(averagingConstant: 1.5f));
    }

    [TestMethod]
    [DataRow(0.01f, 1)]
    [DataRow(0.01f, 7)]
    [DataRow(0.3f, 3)]
    [DataRow(0.3f, 11)]
    public void MergeEqualsSequentialObservation(float c, int split)
    {
        // Merging uses m = m_B + (1 − c)^k (m_A − b1); exact in real arithmetic, so float32 results agree to rounding (1e-5 relative).
        var rng = new Random(split);
        var batches = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, 20).Select(_ => (float)(rng.NextDouble() * 8 - 3)).ToArray()).ToArray();
        var seq = new MovingAverageMinMaxObserver(averagingConstant: c);
        foreach (var b in batches)
            seq.Observe(b);

        var a = new MovingAverageMinMaxObserver(averagingConstant: c);
        var mid = new MovingAverageMinMaxObserver(averagingConstant: c);
        var last = new MovingAverageMinMaxObserver(averagingConstant: c);
        foreach (var b in batches.Take(split))
            a.Observe(b);
        foreach (var b in batches.Skip(split).Take(1))
            mid.Observe(b);
        foreach (var b in batches.Skip(split + 1))
            last.Observe(b);
        mid.Merge(last); // grouping does not matter: (A ∘ (M ∘ L)) = ((A ∘ M) ∘ L)
        a.Merge(mid);

        Assert.AreEqual(seq.Min, a.Min, 1e-5f * Math.Abs(seq.Min));
        Assert.AreEqual(seq.Max, a.Max, 1e-5f * Math.Abs(seq.Max));
        Assert.AreEqual(12L, a.BatchCount);
        Assert.AreEqual(seq.CalculateQParams().ZeroPoint, a.CalculateQParams().ZeroPoint);
    }

    [TestMethod]
    public void MergeIntoEmptyCopiesAndMismatchesAreRejected()
    {
        var a = new MovingAverageMinMaxObserver();
        a.Observe([-1f, 3f]);
        a.Observe([-2f, 5f]);
        var empty = new MovingAverageMinMaxObserver();
        empty.Merge(a);
        Assert.AreEqual(a.Min, empty.Min);
        Assert.AreEqual(a.Max, empty.Max);
        // continuing the copy must match continuing the original: the first batch was copied too
        var more = new MovingAverageMinMaxObserver();
        more.Observe([0f, 9f]);
        empty.Merge(more);
        a.Observe([0f, 9f]);
        Assert.AreEqual(a.Max, empty.Max, 1e-5f);
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(new MovingAverageMinMaxObserver(averagingConstant: 0.5f)));
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(new MinMaxObserver()));
    }
}
