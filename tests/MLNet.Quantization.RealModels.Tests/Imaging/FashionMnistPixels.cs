using MLNet.Quantization.Samples;

namespace MLNet.Quantization.RealModels.Tests.Imaging;

/// <summary>
/// Fashion-MNIST images as ML.NET's <c>ExtractPixels</c> hands them to the ResNet featurizer: RGB planes of 0–255
/// values, the grey image replicated into the three channels, upscaled bilinearly.
/// </summary>
internal static class FashionMnistPixels
{
    public static float[] Rgb(FashionMnist raw, int index, int size)
    {
        var grey = new float[size * size];
        Bilinear.Resize(raw.Image(index), raw.Height, raw.Width, grey, size, size);
        var planes = new float[3 * grey.Length];
        for (int c = 0; c < 3; c++)
            grey.CopyTo(planes.AsSpan(c * grey.Length));
        return planes;
    }
}
