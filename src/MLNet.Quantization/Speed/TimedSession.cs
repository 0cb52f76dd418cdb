using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Speed;

/// <summary>
/// One model in an ONNX Runtime session at the scoring settings (<see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/>,
/// the given intra-op threads), bound to fixed inputs, that times a run; with profiling on, it also writes ORT's
/// profile and optimized graph, read back by <see cref="EndProfiling"/>.
/// </summary>
internal sealed class TimedSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _inputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string? _optimizedPath;
    private readonly string _name;

    public TimedSession(byte[] model, IReadOnlyList<NamedTensor> inputs, int intraOpThreads, bool profile, string name)
    {
        _name = name;
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, intraOpThreads);
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); // sessions take turns: a spinning idle one would slow the running one
        if (profile)
        {
            _optimizedPath = Path.Combine(Path.GetTempPath(), $"mlnetq-speed-{Guid.NewGuid():N}.onnx");
            options.OptimizedModelFilePath = _optimizedPath;
            options.ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), $"mlnetq-speed-{Guid.NewGuid():N}");
            options.EnableProfiling = true;
        }

        _session = OrtBoundary.CreateSession(model, options, name, "time it");
        _inputNames = [.. inputs.Select(i => i.Name)];
        _inputs = [.. inputs.Select(i => i.Floats is { } f
            ? OrtValue.CreateTensorValueFromMemory(f, i.Shape.Select(d => (long)d).ToArray())
            : OrtValue.CreateTensorValueFromMemory(i.Int64s!, i.Shape.Select(d => (long)d).ToArray()))];
        _outputNames = [.. _session.OutputNames];
    }

    /// <summary>Runs the model once and returns the wall time in µs.</summary>
    public double Run()
    {
        long start = Stopwatch.GetTimestamp();
        OrtBoundary.Run(() =>
        {
            using var outputs = _session.Run(_runOptions, _inputNames, _inputs, _outputNames);
            return 0;
        }, _name, "time it");
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    /// <summary>Stops profiling and returns ORT's optimized graph and the profile's per-node medians after <paramref name="skipRuns"/> warm-up runs.</summary>
    public (GraphProto Optimized, IReadOnlyDictionary<string, ProfiledNode> Nodes) EndProfiling(int skipRuns)
    {
        if (_optimizedPath is null)
            throw new InvalidOperationException("The session was not created with profiling.");
        string profilePath = _session.EndProfiling();
        try
        {
            var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_optimizedPath)).Graph;
            return (graph, OrtProfileReader.Read(File.ReadAllText(profilePath), skipRuns));
        }
        finally
        {
            File.Delete(profilePath);
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        foreach (var input in _inputs)
            input.Dispose();
        if (_optimizedPath is not null)
            File.Delete(_optimizedPath);
    }

    /// <summary>
    /// Runs <paramref name="sessions"/> one after the other, <paramref name="rounds"/> times (so that a load change on a
    /// shared machine hits them alike), and returns each one's run times in µs. With a <paramref name="budget"/>, it
    /// stops early once <paramref name="minRounds"/> rounds are done and the budget is spent (a large model's runs are
    /// long enough that fewer of them give a stable median).
    /// </summary>
    public static List<double>[] Alternate(IReadOnlyList<TimedSession> sessions, int rounds, CancellationToken cancellationToken, TimeSpan? budget = null, int minRounds = 0)
    {
        var times = sessions.Select(_ => new List<double>(rounds)).ToArray();
        long start = Stopwatch.GetTimestamp();
        for (int round = 0; round < rounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (budget is { } limit && round >= minRounds && Stopwatch.GetElapsedTime(start) > limit)
                break;
            for (int i = 0; i < sessions.Count; i++)
                times[i].Add(sessions[i].Run());
        }

        return times;
    }
}
