namespace MLNet.Quantization.RealModels.Tests.Imaging;

/// <summary>
/// Bilinear resizing of one channel with half-pixel centres and edge clamping, as OpenCV's <c>INTER_LINEAR</c> and
/// ONNX <c>Resize</c> (linear, half_pixel) define it.
/// </summary>
internal static class Bilinear
{
    public static void Resize(ReadOnlySpan<float> source, int sourceHeight, int sourceWidth, Span<float> target, int height, int width)
    {
        if (source.Length != sourceHeight * sourceWidth || target.Length != height * width)
            throw new ArgumentException("buffer sizes do not match the given dimensions");
        float scaleY = (float)sourceHeight / height, scaleX = (float)sourceWidth / width;
        for (int y = 0; y < height; y++)
        {
            var (y0, y1, fy) = Taps((y + 0.5f) * scaleY - 0.5f, sourceHeight);
            for (int x = 0; x < width; x++)
            {
                var (x0, x1, fx) = Taps((x + 0.5f) * scaleX - 0.5f, sourceWidth);
                float top = source[y0 * sourceWidth + x0] * (1 - fx) + source[y0 * sourceWidth + x1] * fx;
                float bottom = source[y1 * sourceWidth + x0] * (1 - fx) + source[y1 * sourceWidth + x1] * fx;
                target[y * width + x] = top * (1 - fy) + bottom * fy;
            }
        }
    }

    private static (int Low, int High, float Fraction) Taps(float position, int size)
    {
        position = Math.Clamp(position, 0, size - 1);
        int low = (int)position;
        int high = Math.Min(low + 1, size - 1);
        return (low, high, position - low);
    }
}
