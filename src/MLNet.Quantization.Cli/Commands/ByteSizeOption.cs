using System.CommandLine;
using System.Globalization;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>An option giving a size in bytes: a whole number, optionally with K, M or G (binary: 1K = 1024).</summary>
internal static class ByteSizeOption
{
    public static Option<string?> Create(string name, string description) => new(name) { Description = description };

    /// <summary>The size, or null when the option was not given.</summary>
    /// <exception cref="CliException">The text is not a positive size.</exception>
    public static long? Parse(string? text, string option)
    {
        if (text is null)
            return null;
        string trimmed = text.Trim();
        int shift = trimmed.Length == 0 ? 0 : char.ToUpperInvariant(trimmed[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
        string digits = shift == 0 ? trimmed : trimmed[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value <= 0 || value > long.MaxValue >> shift)
            throw new CliException($"{option} must be a positive size in bytes, optionally with K, M or G (e.g. 512M), got '{text}'");
        return value << shift;
    }
}
