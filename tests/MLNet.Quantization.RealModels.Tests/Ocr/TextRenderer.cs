using MLNet.Quantization.RealModels.Tests.Imaging;
using MLNet.Quantization.RealModels.Tests.Metrics;
using SkiaSharp;

namespace MLNet.Quantization.RealModels.Tests.Ocr;

/// <summary>A rendered page and the ink box of each text line on it.</summary>
internal sealed record TextPage(RgbImage Image, IReadOnlyList<Box> Lines);

/// <summary>
/// Renders text with SkiaSharp and DejaVu Sans (Debian <c>fonts-dejavu-core</c>): dark text on light backgrounds with
/// mild variation (background tint, text colour, size, pixel noise), all from one seed.
/// </summary>
internal sealed class TextRenderer : IDisposable
{
    public const string FontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    private readonly Random _random;
    private readonly RandomWords _words;
    private readonly SKTypeface _typeface;

    public TextRenderer(int seed)
    {
        if (!File.Exists(FontPath))
            throw new FileNotFoundException($"'{FontPath}' is missing: apt-get install fonts-dejavu-core", FontPath);
        _random = new Random(seed);
        _words = new RandomWords(_random);
        _typeface = SKTypeface.FromFile(FontPath) ?? throw new InvalidDataException($"SkiaSharp cannot read '{FontPath}'");
    }

    /// <summary>One text line cropped with a small margin, as a detector's crop hands it to the orientation classifier.</summary>
    public RgbImage Line()
    {
        using var font = Font(_random.Next(22, 36));
        string text = _words.Line(2, 5, _ => true);
        font.MeasureText(text, out var ink);
        int margin = _random.Next(3, 8);
        int width = (int)Math.Ceiling(ink.Width) + 2 * margin, height = (int)Math.Ceiling(ink.Height) + 2 * margin;
        return Draw(width, height, canvas => canvas.DrawText(text, margin - ink.Left, margin - ink.Top, SKTextAlign.Left, font, TextPaint()));
    }

    /// <summary>A page of text lines at random positions, none overlapping.</summary>
    public TextPage Page(int width, int height)
    {
        var lines = new List<(string Text, float X, float Y, SKFont Font)>();
        var boxes = new List<Box>();
        int y = _random.Next(6, 20);
        while (true)
        {
            var font = Font(_random.Next(14, 30));
            int left = _random.Next(6, width / 3);
            int room = width - 6 - left;
            string text = _words.Line(1, 6, t => font.MeasureText(t) <= room);
            font.MeasureText(text, out var ink);
            if (ink.Width > room || y + ink.Height + 6 > height)
            {
                font.Dispose();
                break;
            }

            float baseline = y - ink.Top;
            lines.Add((text, left - ink.Left, baseline, font));
            boxes.Add(new Box(left, y, left + (int)Math.Ceiling(ink.Width), y + (int)Math.Ceiling(ink.Height)));
            y += (int)Math.Ceiling(ink.Height) + _random.Next(8, 24);
        }

        var image = Draw(width, height, canvas =>
        {
            foreach (var (text, x, baseline, font) in lines)
                canvas.DrawText(text, x, baseline, SKTextAlign.Left, font, TextPaint());
        });
        foreach (var line in lines)
            line.Font.Dispose();
        return new TextPage(image, boxes);
    }

    public void Dispose() => _typeface.Dispose();

    private SKFont Font(float size) => new(_typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true };

    private SKPaint TextPaint()
    {
        byte v = (byte)_random.Next(0, 70);
        return new SKPaint { Color = new SKColor(v, (byte)Math.Min(255, v + _random.Next(0, 20)), (byte)Math.Min(255, v + _random.Next(0, 20))), IsAntialias = true };
    }

    private RgbImage Draw(int width, int height, Action<SKCanvas> draw)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor((byte)_random.Next(215, 256), (byte)_random.Next(215, 256), (byte)_random.Next(205, 256)));
            draw(canvas);
        }

        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++)
            for (int c = 0; c < 3; c++)
                rgb[i * 3 + c] = (byte)Math.Clamp(rgba[i * 4 + c] + _random.Next(-6, 7), 0, 255);
        return new RgbImage(width, height, rgb);
    }
}
