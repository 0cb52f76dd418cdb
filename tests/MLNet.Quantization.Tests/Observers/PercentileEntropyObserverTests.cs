using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class PercentileObserverTests
{
    [TestMethod]
    public void SymmetricPercentileOfOneToOneHundredThousand()
    {
        // |x| histogram over [1, 100000], 2048 bins of width 99999/2048 ≈ 48.83. Bin 2047 starts at
        // 1 + 2047·99999/2048 ≈ 99951.17, so it holds 99952..100000 (49 values): cdf[2046] = 0.99951 < 0.99999 ≤ cdf[2047] = 1.
        // threshold = edge[2047]; range [−threshold, threshold] clipped to the observed min 1.
        var o = new PercentileObserver();
        o.Observe(Enumerable.Range(1, 100_000).Select(i => (float)i).ToArray());
        var (min, max) = o.ComputeRange();
        Assert.AreEqual(1f, min);
        Assert.AreEqual((float)(1 + 2047 * (99999.0 / 2048)), max);
    }

    [TestMethod]
    public void LowerPercentileCutsMore()
    {
        // percentile 50.2 on 1..100000, bin width 99999/2048 ≈ 48.83: bin 1027 ends below 1 + 1028·48.83 ≈ 50194.8, so
        // cdf[1027] = 0.50194 < 0.502; bin 1028 ends below ≈ 50243.6, so cdf[1028] = 0.50243 ≥ 0.502 → threshold edge[1028]
        var o = new PercentileObserver(percentile: 50.2);
        o.Observe(Enumerable.Range(1, 100_000).Select(i => (float)i).ToArray());
        Assert.AreEqual((float)(1 + 1028 * (99999.0 / 2048)), o.ComputeRange().Max);
    }

    [TestMethod]
    public void AsymmetricCutsBothTails()
    {
        var o = new PercentileObserver(percentile: 98, symmetric: false, bins: 200);
        o.Observe(Enumerable.Range(-1000, 2001).Select(i => i / 100f).ToArray()); // uniform on [−10, 10]
        var (min, max) = o.ComputeRange();
        // 1% cut per side of a uniform [−10, 10]: about ±9.8, within one 0.1-wide bin
        Assert.AreEqual(-9.8f, min, 0.11f);
        Assert.AreEqual(9.8f, max, 0.11f);
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        float[] a = Enumerable.Range(0, 3000).Select(i => MathF.Sin(i) * 2).ToArray();
        float[] b = Enumerable.Range(0, 3000).Select(i => MathF.Cos(i) * 5).ToArray();
        foreach (bool symmetric in new[] { true, false })
        {
            var seq = new PercentileObserver(symmetric: symmetric);
            seq.Observe(a);
            seq.Observe(b);
            var oa = new PercentileObserver(symmetric: symmetric);
            oa.Observe(a);
            var ob = new PercentileObserver(symmetric: symmetric);
            ob.Observe(b);
            oa.Merge(ob);
            Assert.AreEqual(seq.ComputeRange(), oa.ComputeRange());
        }

        Assert.ThrowsExactly<ArgumentException>(() => new PercentileObserver().Merge(new PercentileObserver(percentile: 99)));
    }

    [TestMethod]
    public void SearchSortedIsLeftSided()
    {
        double[] cdf = [0.25, 0.5, 0.5, 1.0];
        Assert.AreEqual(1, PercentileObserver.SearchSorted(cdf, 0.5));
        Assert.AreEqual(0, PercentileObserver.SearchSorted(cdf, 0.1));
        Assert.AreEqual(3, PercentileObserver.SearchSorted(cdf, 0.75));
        Assert.AreEqual(4, PercentileObserver.SearchSorted(cdf, 1.5));
    }
}

[TestClass]
public sealed class EntropyObserverTests
{
    [TestMethod]
    public void SmoothDistributionMovesEpsToZeros()
    {
        // 2 zeros, 2 non-zeros: zeros get eps = 1e-4, non-zeros lose eps1 = 1e-4 · 2/2
        var s = EntropyObserver.Smooth([0, 2, 0, 2])!;
        CollectionAssert.AreEqual(new[] { 1e-4f, 2f - 1e-4f, 1e-4f, 2f - 1e-4f }, s);
        Assert.IsNull(EntropyObserver.Smooth([0, 0]));
    }

    [TestMethod]
    public void KlDivergenceIsScipyEntropy()
    {
        Assert.AreEqual(0.0, EntropyObserver.KlDivergence([1f, 3f], [2f, 6f]), 1e-12, "normalised, identical");
        // p = [0.5, 0.5], q = [0.25, 0.75]: 0.5·ln 2 + 0.5·ln(2/3)
        Assert.AreEqual(0.5 * Math.Log(2) + 0.5 * Math.Log(2.0 / 3.0), EntropyObserver.KlDivergence([1f, 1f], [1f, 3f]), 1e-9);
        Assert.AreEqual(double.PositiveInfinity, EntropyObserver.KlDivergence(null, [1f]));
    }

    [TestMethod]
    public void ThresholdSearchOnAFourBinHistogram()
    {
        // hist [0, 4, 4, 0] over edges −2..2, 2 quantized bins: zero bin 2, windows i = 1 (bins 1..3) and i = 2 (bins 0..3).
        // i = 1: p = [4, 4, 0], merged 1 → q = [4, 4, 0]; both smooth to the same → KL 0.
        // i = 2: p = [0, 4, 4, 0], merged 2 → quantized [4, 4], q = [4, 4, 4, 4] (spread over whole groups) → KL ≈ 0.693 > 0.
        // The first minimum wins: window i = 1 → edges (edge 1, edge 4) = (−1, 2).
        var (lo, hi) = EntropyObserver.EntropyThreshold([0, 4, 4, 0], k => -2f + k, 2);
        Assert.AreEqual(-1f, lo);
        Assert.AreEqual(2f, hi);
    }

    [TestMethod]
    public void ClipsAHeavyTail()
    {
        var rng = new Random(5);
        // Gaussian bulk plus rare large values: the KL window ends well inside the outliers
        float[] data = Enumerable.Range(0, 50_000).Select(i => i % 1000 == 0 ? 40f : (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
        var o = new EntropyObserver();
        o.Observe(data);
        var (min, max) = o.ComputeRange();
        Assert.IsLessThan(40f, max);
        Assert.IsGreaterThan(2f, max);
        Assert.IsLessThan(0f, min);
    }

    [TestMethod]
    public void MergeEqualsSequentialObservation()
    {
        float[] a = Enumerable.Range(0, 4000).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        float[] b = Enumerable.Range(0, 4000).Select(i => MathF.Sin(i * 0.11f) * 3).ToArray(); // grows the threshold
        var seq = new EntropyObserver();
        seq.Observe(a);
        seq.Observe(b);
        var oa = new EntropyObserver();
        oa.Observe(a);
        var ob = new EntropyObserver();
        ob.Observe(b);
        oa.Merge(ob);
        Assert.AreEqual(seq.ComputeRange(), oa.ComputeRange());
        Assert.IsTrue(float.IsFinite(oa.CalculateQParams().Scale));
    }

    [TestMethod]
    public void AllZeroTensorHasFiniteScale()
    {
        var o = new EntropyObserver(new ObserverOptions(Eps: 1f / 4096f));
        o.Observe(new float[256]);
        Assert.AreEqual(1f / 4096f, o.CalculateQParams().Scale);
    }
}
