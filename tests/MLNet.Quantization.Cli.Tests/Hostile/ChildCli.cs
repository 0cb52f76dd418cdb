using System.Diagnostics;
using System.Globalization;

namespace MLNet.Quantization.Cli.Tests.Hostile;

/// <summary>What one run of the tool in its own process did.</summary>
/// <param name="Code">The exit code; 128 + N when the process died of signal N (134 for an abort).</param>
/// <param name="Out">Standard output.</param>
/// <param name="Err">Standard error.</param>
/// <param name="PeakRssBytes">The highest resident set size (VmHWM) seen while the process ran.</param>
/// <param name="TimedOut">Whether the harness had to kill the process at its deadline.</param>
internal sealed record ChildRun(int Code, string Out, string Err, long PeakRssBytes, bool TimedOut)
{
    /// <summary>Peak resident memory in MiB, for messages.</summary>
    public double PeakRssMiB => PeakRssBytes / (1024.0 * 1024.0);

    /// <inheritdoc />
    public override string ToString() =>
        $"exit {Code}{(TimedOut ? " (killed at deadline)" : "")}, peak {PeakRssMiB:F0} MiB, stderr: {Err.Trim()}";
}

/// <summary>
/// Runs <c>mlnet-quantize</c> as a child process (the apphost copied next to the tests), so that the hostile-input
/// tests see what a user sees: the real exit code (a native abort included), the real streams, and the process's peak
/// memory, read from <c>/proc/&lt;pid&gt;/status</c> while it runs.
/// </summary>
internal static class ChildCli
{
    /// <summary>The tool's apphost in the test output folder.</summary>
    public static string ToolPath => Path.Combine(AppContext.BaseDirectory, "mlnet-quantize");

    /// <summary>The QAT tool's apphost (mlnet-quantize-qat) in the test output folder.</summary>
    public static string QatToolPath => Path.Combine(AppContext.BaseDirectory, "mlnet-quantize-qat");

    /// <summary>Runs the tool with <paramref name="args"/> in <paramref name="workingDirectory"/> (default: a fresh temp folder's parent), killing it after <paramref name="deadline"/>.</summary>
    public static ChildRun Run(TimeSpan deadline, string? workingDirectory, params string[] args) => RunTool(ToolPath, deadline, workingDirectory, args);

    /// <summary>As <see cref="Run(TimeSpan, string?, string[])"/>, for the apphost at <paramref name="toolPath"/>.</summary>
    public static ChildRun RunTool(string toolPath, TimeSpan deadline, string? workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(toolPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + toolPath);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        var clock = Stopwatch.StartNew();
        bool timedOut = false;
        while (!process.WaitForExit(25))
        {
            peak = Math.Max(peak, ReadPeakRss(process.Id));
            if (clock.Elapsed > deadline)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                break;
            }
        }

        process.WaitForExit();
        return new ChildRun(process.ExitCode, stdout.Result, stderr.Result, peak, timedOut);
    }

    /// <summary>Runs the tool with a two-minute deadline in the temp folder.</summary>
    public static ChildRun Run(params string[] args) => Run(TimeSpan.FromMinutes(2), null, args);

    /// <summary>VmHWM of a live process in bytes, or 0 once it has gone.</summary>
    private static long ReadPeakRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    continue;
                var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }
}

/// <summary>Assertions the hostile-input tests share.</summary>
internal static class HostileAssert
{
    /// <summary>Exit 2, one <c>error:</c> line containing <paramref name="expect"/> (when given), within <paramref name="maxPeakMiB"/> of memory.</summary>
    public static void IsBadInput(ChildRun run, string? expect, double maxPeakMiB, string label)
    {
        Assert.IsFalse(run.TimedOut, label + ": " + run);
        CliAssert.IsBadInput(run.Code, run.Err, expect ?? "", label + " (" + run + ")");
        Assert.IsLessThan(maxPeakMiB, run.PeakRssMiB, label + ": " + run);
    }

    /// <summary>Fails when any of <paramref name="secrets"/> (canary bytes) occurs in any file under <paramref name="folder"/>.</summary>
    public static void NoCanaryIn(string folder, IEnumerable<byte[]> secrets, string label)
    {
        if (!Directory.Exists(folder))
            return;
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var secret in secrets)
                Assert.AreEqual(-1, bytes.AsSpan().IndexOf(secret), $"{label}: canary bytes reached {file}");
        }
    }

    /// <summary>Fails when a temporary file (<c>*.tmp</c>) is left in <paramref name="folder"/>.</summary>
    public static void NoTempFiles(string folder, string label) =>
        Assert.IsEmpty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories), label + ": temp files left behind");
}
