using MLNet.Quantization.RealModels.Tests.Imaging;
using MLNet.Quantization.RealModels.Tests.Ocr;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.RealModels.Tests.Infrastructure;

/// <summary>Resizing, preprocessing and text rendering, checked against their definitions.</summary>
[TestClass]
public sealed class ImagingTests
{
    [TestMethod]
    public void BilinearUsesHalfPixelCentres()
    {
        var target = new float[4];
        Bilinear.Resize([0f, 10f], 1, 2, target, 1, 4);
        // target x centres 0.5,1.5,2.5,3.5 → source −0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
        CollectionAssert.AreEqual(new[] { 0f, 2.5f, 7.5f, 10f }, target);
        var same = new float[6];
        Bilinear.Resize([1f, 2f, 3f, 4f, 5f, 6f], 2, 3, same, 2, 3);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, same);
    }

    [TestMethod]
    public void FashionMnistPixelsAreGreyRgbPlanesInTheOriginalRange()
    {
        var raw = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false, maxCount: 1, normalize: false);
        var planes = FashionMnistPixels.Rgb(raw, 0, 224);
        Assert.HasCount(3 * 224 * 224, planes);
        CollectionAssert.AreEqual(planes[..(224 * 224)], planes[(224 * 224)..(2 * 224 * 224)]);
        var src = raw.Image(0).ToArray();
        Assert.IsTrue(planes.All(v => v >= src.Min() && v <= src.Max()), "interpolation stays within the source range");
        // target (y, x) = (100, 60) sits at source ((100.5)/8 − 0.5, (60.5)/8 − 0.5) = (12.0625, 7.0625)
        float f = 0.0625f;
        float expected = (src[12 * 28 + 7] * (1 - f) + src[12 * 28 + 8] * f) * (1 - f) + (src[13 * 28 + 7] * (1 - f) + src[13 * 28 + 8] * f) * f;
        Assert.AreEqual(expected, planes[2 * 224 * 224 + 100 * 224 + 60], 1e-3f);
    }

    [TestMethod]
    public void ClassifierInputIsNormalisedAndPaddedRight()
    {
        var white = new RgbImage(48, 24, Enumerable.Repeat((byte)255, 48 * 24 * 3).ToArray());
        var x = PaddleInputs.Classifier(white);
        // height 24 → 48 doubles the width 48 → 96; white is (1 − 0.5)/0.5 = 1, padding is 0
        Assert.AreEqual(1f, x[95]);
        Assert.AreEqual(0f, x[96]);
        Assert.AreEqual(0f, x[191]);
    }

    [TestMethod]
    public void RenderedPagesAreDeterministicAndBoxesHoldTheInk()
    {
        using var a = new TextRenderer(seed: 7);
        using var b = new TextRenderer(seed: 7);
        var page = a.Page(320, 320);
        CollectionAssert.AreEqual(page.Image.Pixels, b.Page(320, 320).Image.Pixels, "same seed, same page");
        Assert.IsGreaterThanOrEqualTo(5, page.Lines.Count);
        foreach (var box in page.Lines)
        {
            Assert.IsTrue(box.Left >= 0 && box.Top >= 0 && box.Right <= 320 && box.Bottom <= 320, box.ToString());
            int dark = 0;
            for (int y = box.Top; y < box.Bottom; y++)
                for (int x = box.Left; x < box.Right; x++)
                    dark += page.Image.Pixels[(y * 320 + x) * 3] < 128 ? 1 : 0;
            Assert.IsGreaterThan(box.Area / 20, dark, $"{box}: dark pixels of the text");
        }

        var line = a.Line();
        var flipped = line.Rotated180();
        CollectionAssert.AreEqual(line.Pixels.AsSpan(0, 3).ToArray(), flipped.Pixels.AsSpan(flipped.Pixels.Length - 3).ToArray());
    }
}
