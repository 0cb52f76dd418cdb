using MLNet.Quantization.RealModels.Tests.Metrics;

namespace MLNet.Quantization.RealModels.Tests.Infrastructure;

/// <summary>The suite's own measuring tools on cases worked out by hand.</summary>
[TestClass]
public sealed class MetricsTests
{
    [TestMethod]
    public void BoxIoUIsIntersectionOverUnion()
    {
        var a = new Box(0, 0, 10, 10);
        Assert.AreEqual(1.0, a.IoU(a));
        Assert.AreEqual(50.0 / 150, a.IoU(new Box(5, 0, 15, 10)), 1e-12);
        Assert.AreEqual(0.0, a.IoU(new Box(10, 0, 20, 10)), "touching boxes do not overlap");
    }

    [TestMethod]
    public void MatchingIsOneToOneAndBestFirst()
    {
        Box[] reference = [new(0, 0, 10, 10), new(2, 0, 12, 10)];
        Box[] detected = [new(2, 0, 12, 10)];
        CollectionAssert.AreEqual(new[] { -1, 0 }, BoxMatching.Match(reference, detected, 0.5), "the exact pair wins; the detection is used once");
        CollectionAssert.AreEqual(new[] { -1, -1 }, BoxMatching.Match(reference, [new Box(0, 0, 4, 10)], 0.5));
    }

    [TestMethod]
    public void TextMapFindsComponentsDropsWeakOnesAndUnclips()
    {
        const int w = 40, h = 20;
        var p = new float[w * h];
        Fill(p, w, new Box(4, 4, 24, 8), 0.9f);    // a 20×4 kernel, confident
        Fill(p, w, new Box(30, 10, 36, 16), 0.4f); // above the pixel threshold, below the box threshold
        Fill(p, w, new Box(2, 15, 3, 18), 0.9f);   // 1 px wide: below MinSize
        var map = new TextMap(p, h, w);
        var boxes = map.TextBoxes();
        // unclip distance = area × 1.5 / perimeter = 80 × 1.5 / 48 = 2.5 → 2 (banker's rounding), on every side
        CollectionAssert.AreEqual(new[] { new Box(2, 2, 26, 10) }, boxes);
        Assert.AreEqual(80 + 36 + 3, map.Binarized().Count(b => b));
    }

    [TestMethod]
    public void BinaryIoUAndCosine()
    {
        Assert.AreEqual(1.0 / 3, TextMap.BinaryIoU([true, true, false, false], [false, true, true, false]), 1e-12);
        Assert.AreEqual(1.0, TextMap.BinaryIoU([false], [false]));
        Assert.AreEqual(0.0, FeatureAgreement.Cosine([1, 0], [0, 2]), 1e-12);
        Assert.AreEqual(1.0 / Math.Sqrt(2), FeatureAgreement.Cosine([1, 1], [3, 0]), 1e-12);
        Assert.AreEqual(1.0, FeatureAgreement.MeanCosine([[2f, 4f]], [[1f, 2f]]), 1e-12);
    }

    private static void Fill(float[] p, int width, Box box, float value)
    {
        for (int y = box.Top; y < box.Bottom; y++)
            for (int x = box.Left; x < box.Right; x++)
                p[y * width + x] = value;
    }
}
