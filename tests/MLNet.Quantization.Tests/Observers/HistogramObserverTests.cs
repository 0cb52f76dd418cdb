using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class HistogramObserverTests
{
    [TestMethod]
    public void QuantizationErrorMatchesTheL2Definition()
    {
        // 4 bins over [0, 4] (width 1), counts [1, 0, 0, 1], 2 destination bins over bins 0..3 → dst width 2.
        // Bin 0: uniform on [0, 1] mapped to the centre 1: ∫₀¹ (x − 1)² dx = 1/3.
        //   torch's terms: (1³ − (−1)³)/3 = 2/3, then (0 − 0 − 1)·2/3 = −2/3, then (0³ − (−1)³)/3 = 1/3 → 1/3.
        // Bin 3: uniform on [3, 4] mapped to the centre 3: ∫₃⁴ (x − 3)² dx = 1/3. Bins 1, 2 are empty. Total 2/3.
        double error = HistogramObserver.QuantizationError([1f, 0f, 0f, 1f], 4.0, 0, 3, 2);
        Assert.AreEqual(2.0 / 3.0, error, 1e-6);

        // density scales the error: count 3 in bin 0 → 3 · 1/3
        Assert.AreEqual(1.0, HistogramObserver.QuantizationError([3f, 0f, 0f, 0f], 4.0, 0, 3, 2), 1e-6);
    }

    [TestMethod]
    public void QuantizationErrorOfANarrowerWindowFollowsTorchsTerms()
    {
        // 4 bins over [0, 4] (width 1), window bins 1..2 → dst width 1·2/2 = 1, positions measured from bin 1's start.
        // Bin 0 (begin −1, end 0): dst_of_begin = clamp(floor(−1), 0, 1) = 0, centre 0.5; dst_of_end = 0.
        //   term1 = ((0.5)³ − (−1.5)³)/3 = 3.5/3 = 7/6; term2 = (0 − 0 − 1)·((0.5)³ − (−0.5)³)/3 = −1/12;
        //   term3 = ((0 − 0.5)³ − (−0.5)³)/3 = 0 → 13/12.
        // Bin 1 (begin 0, end 1): dst_of_begin 0 (centre 0.5), dst_of_end 1 (centre 1.5):
        //   term1 = (0.5³ − (−0.5)³)/3 = 1/12; term2 = 0; term3 = ((1 − 1.5)³ − (−0.5)³)/3 = 0 → 1/12.
        // Counts [1, 1, 0, 0] → 13/12 + 1/12 = 7/6.
        double error = HistogramObserver.QuantizationError([1f, 1f, 0f, 0f], 4.0, 1, 2, 2);
        Assert.AreEqual(7.0 / 6.0, error, 1e-6);
    }

    [TestMethod]
    public void FirstBatchBinsLikeTorchHistc()
    {
        // 8 bins over [0, 8]: bin = floor((x − 0) · 8 / 8); x = 8 (the max) lands in the last bin
        var o = new HistogramObserver(bins: 8);
        o.Observe([0f, 0.5f, 1f, 7.99f, 8f, 3f, float.NaN, float.PositiveInfinity]);
        CollectionAssert.AreEqual(new double[] { 2, 1, 0, 1, 0, 0, 0, 2 }, o.GetHistogram());
        Assert.AreEqual(0f, o.Min);
        Assert.AreEqual(8f, o.Max);
    }

    [TestMethod]
    public void SearchKeepsALoneOutlierWhenClippingCostsMore()
    {
        // 10,000 values on [0, 1) and one at 100. Keeping the full range costs the bulk about 10⁴·(100/256)²/12 ≈ 127;
        // clipping the outlier to ~1 costs about (99)² ≈ 9800, so the L2 search stops at the last bin before it,
        // end bin 2046: max = 100/2048 · 2047 = 99.951171875.
        var values = Enumerable.Range(0, 10_000).Select(i => i / 10_000f).Append(100f).ToArray();
        var o = new HistogramObserver();
        o.Observe(values);
        var (min, max) = o.SearchRange();
        Assert.AreEqual(0f, min);
        Assert.AreEqual(100f / 2048f * 2047f, max);
    }

    [TestMethod]
    public void SearchClipsAnOutlierWhenTheBulkOutweighsIt()
    {
        // 10⁶ values on [0, 1): keeping 100 costs ≈ 10⁶·(100/256)²/12 ≈ 12,700 > 9800 for clipping, so the search
        // moves the end bin down to 19, the last bin before the bulk's cumulative count stops rising:
        // max = 100/2048 · 20 = 0.9765625.
        var values = Enumerable.Range(0, 1_000_000).Select(i => i / 1_000_000f).Append(100f).ToArray();
        var o = new HistogramObserver(new ObserverOptions(Eps: 1f / 4096f));
        o.Observe(values);
        var (min, max) = o.SearchRange();
        Assert.AreEqual(0f, min);
        Assert.AreEqual(0.9765625f, max);
        var q = o.CalculateQParams();
        Assert.AreEqual(0.9765625f / 255f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }

    [TestMethod]
    public void UniformDataKeepsItsFullRange()
    {
        // with no outliers every narrowing raises the error, so the search keeps [min, max] (to one bin)
        var values = Enumerable.Range(0, 20_480).Select(i => -1f + 2f * i / 20_479f).ToArray();
        var o = new HistogramObserver();
        o.Observe(values);
        var (min, max) = o.SearchRange();
        Assert.AreEqual(-1f, min, 2f / 2048f);
        Assert.AreEqual(1f, max, 2f / 2048f);
    }

    [TestMethod]
    public void ConstantTensorGivesFiniteScaleAtLeastEps()
    {
        var o = new HistogramObserver(new ObserverOptions(Eps: 1f / 4096f));
        o.Observe(new float[1000]);
        var q = o.CalculateQParams();
        Assert.AreEqual(1f / 4096f, q.Scale);
        var c = new HistogramObserver();
        c.Observe(Enumerable.Repeat(2.5f, 100).ToArray());
        // constant 2.5 → range [0, 2.5] after including zero → scale 2.5/255
        Assert.AreEqual(2.5f / 255f, c.CalculateQParams().Scale);
        Assert.IsTrue(float.IsFinite(c.CalculateQParams().Scale));
    }

    [TestMethod]
    public void ObserveThenObserveEqualsMergeOfSeparateObservers()
    {
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, 5000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] b = Enumerable.Range(0, 5000).Select(_ => (float)(rng.NextDouble() * 6 - 1)).ToArray(); // widens the range
        var seq = new HistogramObserver();
        seq.Observe(a);
        seq.Observe(b);
        var oa = new HistogramObserver();
        oa.Observe(a);
        var ob = new HistogramObserver();
        ob.Observe(b);
        oa.Merge(ob);
        CollectionAssert.AreEqual(seq.GetHistogram(), oa.GetHistogram());
        Assert.AreEqual(seq.CalculateQParams().Scale, oa.CalculateQParams().Scale);
        Assert.AreEqual(10_000.0, oa.GetHistogram().Sum(), 1e-6, "no count is lost in re-bucketing");
        Assert.ThrowsExactly<ArgumentException>(() => oa.Merge(new HistogramObserver(bins: 512)));
    }

    [TestMethod]
    public void BatchSizeBarelyChangesTheResult()
    {
        var rng = new Random(11);
        // a heavy-tailed activation-like distribution
        float[] data = Enumerable.Range(0, 65_536).Select(_ => (float)Math.Max(0, rng.NextDouble() * rng.NextDouble() * 8 - 1)).ToArray();
        float Scale(int batch)
        {
            var o = new HistogramObserver(new ObserverOptions(Eps: 1f / 4096f));
            for (int i = 0; i < data.Length; i += batch)
                o.Observe(data.AsSpan(i, Math.Min(batch, data.Length - i)));
            return o.CalculateQParams().Scale;
        }

        float whole = Scale(data.Length);
        foreach (int batch in new[] { 32, 512, 4096 })
            Assert.AreEqual(whole, Scale(batch), whole * 0.02f, $"batch {batch}: measured within 2% of one batch");
    }

    [TestMethod]
    public void SymmetricSchemeUsesTheSearchedRange()
    {
        var o = new HistogramObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerTensorSymmetric));
        o.Observe(Enumerable.Range(0, 4096).Select(i => -2f + 4f * i / 4095f).ToArray());
        var (min, max) = o.SearchRange();
        var q = o.CalculateQParams();
        Assert.AreEqual(MathF.Max(-min, max) / 127.5f, q.Scale);
        Assert.AreEqual(0, q.ZeroPoint);
    }
}

[TestClass]
public sealed class HistogramFillTests
{
    /// <summary>torch.histc's binning written out one value at a time, the reference for the vectorized fill.</summary>
    private static double[] Reference(float[] values, int bins)
    {
        float min = values.Min(), max = values.Max(), range = max - min;
        var counts = new double[bins];
        foreach (float x in values)
        {
            int b = (int)((x - min) * (float)bins / range);
            counts[Math.Clamp(b, 0, bins - 1)] += 1;
        }

        return counts;
    }

    [TestMethod]
    [DataRow(1, 2048)]
    [DataRow(16, 2048)]
    [DataRow(17, 2048)]
    [DataRow(1025, 2048)]
    [DataRow(1000, 7)]
    [DataRow(100_003, 2048)]
    public void VectorizedFillEqualsOneValueAtATime(int count, int bins)
    {
        var rng = new Random(count);
        // ReLU-like data: half exact zeros, ties on bin edges, and values straddling both ends
        var values = Enumerable.Range(0, count).Select(i => i % 2 == 0 ? 0f : i % 7 == 0 ? 1.5f : (float)(rng.NextDouble() * 6 - 0.5)).ToArray();
        values[0] = -0.5f;
        if (count > 1)
            values[^1] = 5.5f;
        var histogram = new MLNet.Quantization.Observers.Histograms.Histogram(bins);
        histogram.Fill(values);
        if (count == 1)
        {
            Assert.AreEqual(1.0, histogram.Total);
            return;
        }

        CollectionAssert.AreEqual(Reference(values, bins), histogram.Counts);
        Assert.AreEqual(count, histogram.Total);
    }
}
