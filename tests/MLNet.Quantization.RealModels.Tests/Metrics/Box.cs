namespace MLNet.Quantization.RealModels.Tests.Metrics;

/// <summary>An axis-aligned pixel box; <see cref="Right"/> and <see cref="Bottom"/> are exclusive.</summary>
internal readonly record struct Box(int Left, int Top, int Right, int Bottom)
{
    public int Width => Right - Left;

    public int Height => Bottom - Top;

    public long Area => (long)Math.Max(0, Width) * Math.Max(0, Height);

    public double IoU(Box other)
    {
        var inter = new Box(Math.Max(Left, other.Left), Math.Max(Top, other.Top), Math.Min(Right, other.Right), Math.Min(Bottom, other.Bottom));
        long i = inter.Width > 0 && inter.Height > 0 ? inter.Area : 0;
        long union = Area + other.Area - i;
        return union == 0 ? 0 : (double)i / union;
    }

    public override string ToString() => $"[{Left},{Top})–[{Right},{Bottom})";
}
