using System.CommandLine;
using System.Globalization;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>--timeout SECONDS</c>: a limit on a command's work (prepare, calibration, comparison), none by default. When it
/// passes, ONNX Runtime is stopped inside the run in progress and the command exits 2 with
/// <c>error: --timeout: timed out after N s ...</c>, writing nothing.
/// </summary>
internal static class TimeoutOption
{
    public static Option<double?> Create() => new("--timeout")
    {
        Description = "Stop and exit 2 after this many seconds (prepare, calibration, comparison; ONNX Runtime is stopped mid-run). Default: no limit.",
    };

    /// <summary>Runs <paramref name="work"/> with a token cancelled after <paramref name="seconds"/> (none when null).</summary>
    /// <exception cref="CliException">The timeout passed.</exception>
    public static T Run<T>(double? seconds, Func<CancellationToken, T> work)
    {
        if (seconds is not { } limit)
            return work(CancellationToken.None);
        if (!double.IsFinite(limit) || limit <= 0 || limit > int.MaxValue / 1000.0)
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--timeout must be a positive number of seconds, got {limit}"));
        using var source = new CancellationTokenSource(TimeSpan.FromSeconds(limit));
        try
        {
            return work(source.Token);
        }
        catch (OperationCanceledException) when (source.IsCancellationRequested)
        {
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--timeout: timed out after {limit:0.###} s; nothing was written"));
        }
    }
}
