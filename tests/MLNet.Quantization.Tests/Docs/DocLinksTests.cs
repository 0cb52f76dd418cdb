using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MLNet.Quantization.TestSupport;

namespace MLNet.Quantization.Tests.Docs;

/// <summary>
/// The Markdown documentation in the checkout: every relative link in <c>README.md</c> and <c>docs/*.md</c> reaches an
/// existing file, and an anchor reaches a heading of that file (GitHub's anchor rules); the README keeps the test
/// command <c>.ci/run</c> runs; and <c>docs/benchmarks.md</c> holds the sections <c>bench/run</c> rewrites.
/// </summary>
[TestClass]
public sealed partial class DocLinksTests
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    [TestMethod]
    public void EveryRelativeLinkReachesAFileAndHeading()
    {
        var problems = new List<string>();
        int checkedLinks = 0;
        foreach (string file in DocumentationFiles())
        {
            string relative = Path.GetRelativePath(Root.Value, file);
            foreach (var (line, target) in Links(File.ReadAllText(file)))
            {
                if (UriScheme().IsMatch(target))
                    continue;
                checkedLinks++;
                int hash = target.IndexOf('#', StringComparison.Ordinal);
                string pathPart = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
                string? anchor = hash < 0 ? null : target[(hash + 1)..];
                string resolved = pathPart.Length == 0 ? file : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, pathPart));
                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                    problems.Add($"{relative}:{line}: '{target}' points to {Path.GetRelativePath(Root.Value, resolved)}, which does not exist");
                else if (anchor is not null && !(resolved.EndsWith(".md", StringComparison.Ordinal) && File.Exists(resolved) && Anchors(File.ReadAllText(resolved)).Contains(anchor)))
                    problems.Add($"{relative}:{line}: '{target}': no heading with anchor '#{anchor}' in {Path.GetRelativePath(Root.Value, resolved)}");
            }
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
        Assert.IsGreaterThan(20, checkedLinks, "the README and docs link to each other; finding almost no links means the parser broke");
    }

    [TestMethod]
    public void AnchorsFollowGitHubsRules()
    {
        var anchors = Anchors("# Title\n## `quantize --json` fields\n## .NET 8\n```\n# not a heading\n```\n## Levers, measured one at a time\n## Title\n");
        CollectionAssert.AreEquivalent(
            new[] { "title", "quantize---json-fields", "net-8", "levers-measured-one-at-a-time", "title-1" },
            anchors.ToArray());
    }

    [TestMethod]
    public void LinksInsideCodeAreNotLinks()
    {
        var links = Links("[a](a.md) `[b](b.md)`\n```\n[c](c.md)\n```\n[d](d.md#x)\n").Select(l => l.Target).ToArray();
        CollectionAssert.AreEqual(new[] { "a.md", "d.md#x" }, links);
    }

    [TestMethod]
    public void ReadmeKeepsTheTestCommandCiRuns()
    {
        string[] ci = File.ReadAllLines(Path.Combine(Root.Value, ".ci", "run"));
        int marker = Array.FindIndex(ci, l => l.Contains("The README's test command, verbatim", StringComparison.Ordinal));
        Assert.IsTrue(marker >= 0 && marker + 1 < ci.Length, ".ci/run no longer marks the README's test command");
        string command = ci[marker + 1].Trim();
        StringAssert.StartsWith(command, "dotnet test ");
        string readme = File.ReadAllText(Path.Combine(Root.Value, "README.md"));
        StringAssert.Contains(readme, command, $"README.md lacks the test command .ci/run runs: {command}");
    }

    [TestMethod]
    public void BenchmarksDocHoldsTheSectionsBenchRunRewrites()
    {
        string doc = File.ReadAllText(Path.Combine(Root.Value, "docs", "benchmarks.md"));
        foreach (string key in new[] { "threads=default", "threads=1" })
        {
            string section = MarkedSection.Read(doc, "bench/run", key);
            StringAssert.Matches(section, DatedTable(), $"section {key} should start with the date and machine, then a table");
            Assert.AreEqual(doc, MarkedSection.Replace(doc, "bench/run", key, section), "rewriting a section with its own text must change nothing");
        }

        string bench = File.ReadAllText(Path.Combine(Root.Value, "bench", "run"));
        StringAssert.Contains(bench, "--doc docs/benchmarks.md", "bench/run must rewrite docs/benchmarks.md");
    }

    [TestMethod]
    public void MarkedSectionReplacesOnlyItsOwnText()
    {
        string doc = "intro\n<!-- t: begin k -->\nold\n<!-- t: end k -->\nrest\n";
        Assert.AreEqual("intro\n<!-- t: begin k -->\nnew\n<!-- t: end k -->\nrest\n", MarkedSection.Replace(doc, "t", "k", "new"));
        Assert.AreEqual("old\n", MarkedSection.Read(doc, "t", "k"));
        Assert.ThrowsExactly<FormatException>(() => MarkedSection.Read(doc, "t", "other"));
        Assert.ThrowsExactly<FormatException>(() => MarkedSection.Read(doc + doc, "t", "k"));
        Assert.ThrowsExactly<FormatException>(() => MarkedSection.Read("<!-- t: end k -->\nx\n<!-- t: begin k -->\n", "t", "k"));
    }

    private static IEnumerable<string> DocumentationFiles() =>
        [Path.Combine(Root.Value, "README.md"), .. Directory.GetFiles(Path.Combine(Root.Value, "docs"), "*.md").Order(StringComparer.Ordinal)];

    /// <summary>Inline links <c>[text](target)</c> outside fenced code blocks and inline code, with their line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string markdown)
    {
        bool fenced = false;
        string[] lines = markdown.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
                continue;
            foreach (Match m in Link().Matches(InlineCode().Replace(lines[i], "")))
                yield return (i + 1, m.Groups["target"].Value);
        }
    }

    /// <summary>The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (string raw in markdown.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                fenced = !fenced;
            var heading = fenced ? Match.Empty : Heading().Match(line);
            if (!heading.Success)
                continue;
            string text = Link().Replace(heading.Groups["text"].Value, m => m.Groups["text"].Value).Replace("`", "", StringComparison.Ordinal).Replace("*", "", StringComparison.Ordinal);
            var slug = new StringBuilder();
            foreach (char ch in text.Trim().ToLowerInvariant())
            {
                if (ch == ' ')
                    slug.Append('-');
                else if (ch is '-' or '_' || char.IsLetterOrDigit(ch))
                    slug.Append(ch);
            }

            string anchor = slug.ToString();
            int count = seen.GetValueOrDefault(anchor);
            seen[anchor] = count + 1;
            anchors.Add(count == 0 ? anchor : string.Create(CultureInfo.InvariantCulture, $"{anchor}-{count}"));
        }

        return anchors;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLNet.Quantization.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException($"no MLNet.Quantization.sln above {AppContext.BaseDirectory}: the docs tests run from a checkout");
    }

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"^Measured \d{4}-\d{2}-\d{2} on \d+ cores \(.+\)[^\n]*\n\n\| model \|")]
    private static partial Regex DatedTable();
}
