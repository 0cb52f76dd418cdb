namespace MLNet.Quantization.RealModels.Tests.Imaging;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).</summary>
internal sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (pixels.Length != width * height * 3)
            throw new ArgumentException($"{width}×{height} RGB needs {width * height * 3} bytes, got {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public byte[] Pixels { get; }

    /// <summary>The image turned upside down (rotated by 180°).</summary>
    public RgbImage Rotated180()
    {
        var result = new byte[Pixels.Length];
        int count = Width * Height;
        for (int i = 0; i < count; i++)
            Pixels.AsSpan(i * 3, 3).CopyTo(result.AsSpan((count - 1 - i) * 3, 3));
        return new RgbImage(Width, Height, result);
    }

    /// <summary>
    /// Channel planes [3, height, width] in RGB order, resized bilinearly to <paramref name="height"/>×<paramref name="width"/>,
    /// each value mapped by <paramref name="normalize"/>(channel, value 0–255).
    /// </summary>
    public float[] ToPlanes(int height, int width, Func<int, float, float> normalize)
    {
        var planes = new float[3 * height * width];
        var channel = new float[Width * Height];
        var resized = new float[height * width];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < channel.Length; i++)
                channel[i] = Pixels[i * 3 + c];
            Bilinear.Resize(channel, Height, Width, resized, height, width);
            var plane = planes.AsSpan(c * height * width, height * width);
            for (int i = 0; i < plane.Length; i++)
                plane[i] = normalize(c, resized[i]);
        }

        return planes;
    }
}
