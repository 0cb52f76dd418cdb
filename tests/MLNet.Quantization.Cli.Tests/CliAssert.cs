namespace MLNet.Quantization.Cli.Tests;

/// <summary>Assertions on the CLI's error contract (shared/CLI.md).</summary>
internal static class CliAssert
{
    /// <summary>Exit code 2 and exactly one stderr line, starting <c>error: </c> and containing <paramref name="expect"/>.</summary>
    public static void IsBadInput(int code, string stderr, string expect, string label)
    {
        Assert.AreEqual(2, code, label + " → " + stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, label + " → " + stderr);
        StringAssert.StartsWith(lines[0], "error: ", label);
        StringAssert.Contains(lines[0], expect, label);
    }
}
