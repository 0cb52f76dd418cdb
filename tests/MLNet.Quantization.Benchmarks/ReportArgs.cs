using System.Globalization;

namespace MLNet.Quantization.Benchmarks;

/// <summary>The option parsing the report commands share.</summary>
internal static class ReportArgs
{
    /// <summary>The positive whole number after <paramref name="name"/> in <paramref name="args"/>, else <paramref name="fallback"/>.</summary>
    internal static int ReadInt(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : fallback;
    }
}
