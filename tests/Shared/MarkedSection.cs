namespace MLNet.Quantization.TestSupport;

/// <summary>
/// A generated part of a Markdown document, between <c>&lt;!-- TOOL: begin KEY --&gt;</c> and
/// <c>&lt;!-- TOOL: end KEY --&gt;</c> lines, that a script rewrites while leaving the rest of the document as it is
/// (one file, linked into the benchmark program that writes such sections and the test that checks them).
/// </summary>
/// <example>
/// <code>
/// string doc = File.ReadAllText("docs/benchmarks.md");
/// File.WriteAllText("docs/benchmarks.md", MarkedSection.Replace(doc, "bench/run", "threads=1", table));
/// </code>
/// </example>
internal static class MarkedSection
{
    /// <summary>The line that opens the section <paramref name="key"/> written by <paramref name="tool"/>.</summary>
    public static string Begin(string tool, string key) => $"<!-- {tool}: begin {key} -->";

    /// <summary>The line that closes the section <paramref name="key"/> written by <paramref name="tool"/>.</summary>
    public static string End(string tool, string key) => $"<!-- {tool}: end {key} -->";

    /// <summary>The text between the two marker lines, without them.</summary>
    /// <exception cref="FormatException">The document lacks either marker, or holds one twice, or has them in the wrong order.</exception>
    public static string Read(string document, string tool, string key)
    {
        var (start, end) = Locate(document, tool, key);
        return document[start..end];
    }

    /// <summary>The document with the text between the two marker lines replaced by <paramref name="content"/>.</summary>
    /// <exception cref="FormatException">The document lacks either marker, or holds one twice, or has them in the wrong order.</exception>
    public static string Replace(string document, string tool, string key, string content)
    {
        var (start, end) = Locate(document, tool, key);
        string body = content.ReplaceLineEndings("\n");
        if (!body.EndsWith('\n'))
            body += "\n";
        return string.Concat(document.AsSpan(0, start), body, document.AsSpan(end));
    }

    private static (int Start, int End) Locate(string document, string tool, string key)
    {
        string begin = Begin(tool, key) + "\n", end = "\n" + End(tool, key);
        int b = document.IndexOf(begin, StringComparison.Ordinal);
        int e = document.IndexOf(end, StringComparison.Ordinal);
        if (b < 0 || e < 0)
            throw new FormatException($"the document has no section '{Begin(tool, key)}' … '{End(tool, key)}', each marker on a line of its own");
        if (document.IndexOf(begin, b + 1, StringComparison.Ordinal) >= 0 || document.IndexOf(end, e + 1, StringComparison.Ordinal) >= 0)
            throw new FormatException($"the document holds the section '{Begin(tool, key)}' more than once");
        int start = b + begin.Length;
        if (e + 1 < start)
            throw new FormatException($"'{End(tool, key)}' comes before '{Begin(tool, key)}'");
        return (start, e + 1);
    }
}
