namespace MLNet.Quantization.RealModels.Tests.Metrics;

/// <summary>
/// A DB text detector's probability map [H, W] and the post-processing PaddleOCR applies to it, axis-aligned:
/// binarize at <see cref="Threshold"/>, 8-connected components, drop those whose mean probability is below
/// <see cref="BoxThreshold"/> or whose shorter side is below <see cref="MinSize"/>, then grow each box by
/// area × <see cref="UnclipRatio"/> / perimeter on every side (DB's unclip, the shrunk text kernel back to the text).
/// </summary>
internal sealed class TextMap
{
    public const float Threshold = 0.3f;
    public const float BoxThreshold = 0.6f;
    public const double UnclipRatio = 1.5;
    public const int MinSize = 3;

    private readonly float[] _probabilities;

    public TextMap(float[] probabilities, int height, int width)
    {
        if (probabilities.Length != height * width)
            throw new ArgumentException($"{height}×{width} map needs {height * width} values, got {probabilities.Length}");
        _probabilities = probabilities;
        Height = height;
        Width = width;
    }

    public int Height { get; }

    public int Width { get; }

    public bool[] Binarized()
    {
        var result = new bool[_probabilities.Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = _probabilities[i] > Threshold;
        return result;
    }

    /// <summary>Intersection over union of two binarized maps (1 when both are empty).</summary>
    public static double BinaryIoU(bool[] a, bool[] b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"maps of {a.Length} and {b.Length} pixels");
        long inter = 0, union = 0;
        for (int i = 0; i < a.Length; i++)
        {
            inter += a[i] && b[i] ? 1 : 0;
            union += a[i] || b[i] ? 1 : 0;
        }

        return union == 0 ? 1 : (double)inter / union;
    }

    public List<Box> TextBoxes()
    {
        var mask = Binarized();
        var seen = new bool[mask.Length];
        var stack = new Stack<int>();
        var boxes = new List<Box>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || seen[start])
                continue;
            int left = int.MaxValue, top = int.MaxValue, right = -1, bottom = -1;
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop();
                int y = p / Width, x = p % Width;
                (left, top, right, bottom) = (Math.Min(left, x), Math.Min(top, y), Math.Max(right, x + 1), Math.Max(bottom, y + 1));
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int ny = y + dy, nx = x + dx;
                        if (ny < 0 || ny >= Height || nx < 0 || nx >= Width)
                            continue;
                        int q = ny * Width + nx;
                        if (mask[q] && !seen[q])
                        {
                            seen[q] = true;
                            stack.Push(q);
                        }
                    }
            }

            var kernel = new Box(left, top, right, bottom);
            if (Math.Min(kernel.Width, kernel.Height) < MinSize || MeanProbability(kernel) < BoxThreshold)
                continue;
            boxes.Add(Unclip(kernel));
        }

        return boxes;
    }

    private double MeanProbability(Box box)
    {
        double sum = 0;
        for (int y = box.Top; y < box.Bottom; y++)
            for (int x = box.Left; x < box.Right; x++)
                sum += _probabilities[y * Width + x];
        return sum / box.Area;
    }

    private Box Unclip(Box kernel)
    {
        double distance = kernel.Area * UnclipRatio / (2.0 * (kernel.Width + kernel.Height));
        int d = (int)Math.Round(distance);
        return new Box(Math.Max(0, kernel.Left - d), Math.Max(0, kernel.Top - d), Math.Min(Width, kernel.Right + d), Math.Min(Height, kernel.Bottom + d));
    }
}
