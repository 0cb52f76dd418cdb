using MLNet.Quantization.RealModels.Tests.Imaging;

namespace MLNet.Quantization.RealModels.Tests.Ocr;

/// <summary>PaddleOCR's preprocessing of the orientation classifier and the DB text detector, RGB channel order.</summary>
internal static class PaddleInputs
{
    public const int ClassifierHeight = 48;
    public const int ClassifierWidth = 192;

    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// [3, 48, 192]: resized keeping the aspect ratio to height 48 (width at most 192), <c>(x/255 − 0.5)/0.5</c>,
    /// zero (after normalising) to the right.
    /// </summary>
    public static float[] Classifier(RgbImage line)
    {
        int width = Math.Clamp((int)Math.Ceiling(ClassifierHeight * (double)line.Width / line.Height), 1, ClassifierWidth);
        var resized = line.ToPlanes(ClassifierHeight, width, (_, v) => (v / 255f - 0.5f) / 0.5f);
        var padded = new float[3 * ClassifierHeight * ClassifierWidth];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ClassifierHeight; y++)
                resized.AsSpan((c * ClassifierHeight + y) * width, width).CopyTo(padded.AsSpan((c * ClassifierHeight + y) * ClassifierWidth));
        return padded;
    }

    /// <summary>[3, H, W] with ImageNet's mean and std, <c>(x/255 − mean)/std</c>; the page's sides must be multiples of 32.</summary>
    public static float[] Detector(RgbImage page)
    {
        if (page.Width % 32 != 0 || page.Height % 32 != 0)
            throw new ArgumentException($"the detector needs sides that are multiples of 32, got {page.Width}×{page.Height}");
        return page.ToPlanes(page.Height, page.Width, (c, v) => (v / 255f - Mean[c]) / Std[c]);
    }
}
