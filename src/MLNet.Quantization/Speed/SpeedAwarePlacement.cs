using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Speed;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// Speed-aware placement (<c>--speed-aware</c>): quantizes, measures each candidate unit's int8 and fp32 kernel time with
/// ONNX Runtime's profiler on this CPU, keeps float the units whose int8 form does not pay (counting the Q/DQ at their
/// boundaries), converts again and checks the whole model, int8 against fp32 in alternating runs.
/// </summary>
/// <remarks>
/// <para>The int8 model (every candidate quantized) and the fp32 model (the float graph the quantizer works on, so the
/// node names agree) run in alternation with ORT's profiler at <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/> on
/// the first <see cref="SpeedAwareOptions.BatchSize"/> samples of the first calibration batch. Each executed node is
/// traced back to its source node; a unit's int8 time is its kernel (with ORT's layout nodes) plus the
/// QuantizeLinear/DequantizeLinear left at its float boundaries, its float time the fp32 node plus the Q/DQ that keeping
/// it float would add next to int8 neighbours. A unit stays int8 only when int8 is faster.</para>
/// <para>The whole-model check times the fp32, the fully quantized and the placed models alternately and keeps the
/// faster of the two int8 models; when that one is still slower than fp32, every candidate goes back to float (the
/// model is then float-equivalent rather than slower). The trials go through the same search as
/// <see cref="OutputSqnrRepair"/>. Static and dynamic quantizers both work.</para>
/// <para>With <see cref="SpeedAwareOptions.CachePath"/>, the measurements are kept in a versioned JSON file keyed by the
/// float model's SHA-256, the inputs' shapes, the thread count, the CPU model and ORT's version; a second run with the
/// same key makes the same decisions without profiling.</para>
/// </remarks>
public sealed class SpeedAwarePlacement
{
    /// <summary>The fewest measured runs of each model, whatever the time budget.</summary>
    private const int MinRuns = 7;

    private static readonly IReadOnlySet<string> Candidates = new HashSet<string>(StringComparer.Ordinal) { "Conv", "ConvTranspose", "Gemm", "MatMul" };

    private readonly Func<X86Quantizer> _createQuantizer;
    private readonly PrepareOptions? _prepareOptions;

    /// <summary>Creates the step.</summary>
    /// <param name="createQuantizer">Makes a configured quantizer (a new instance per call); units are kept float on top of its configs.</param>
    /// <param name="prepareOptions">Options for <see cref="QuantizationFlow.Prepare"/>.</param>
    public SpeedAwarePlacement(Func<X86Quantizer> createQuantizer, PrepareOptions? prepareOptions = null)
    {
        _createQuantizer = createQuantizer ?? throw new ArgumentNullException(nameof(createQuantizer));
        _prepareOptions = prepareOptions;
    }

    /// <summary>Quantizes <paramref name="model"/> with the units that pay in int8 on this CPU.</summary>
    /// <param name="model">The float model.</param>
    /// <param name="calibration">Calibration batches (static mode; enumerated once per conversion). Their first batch gives the inputs timed. In dynamic mode, give one batch of sample inputs.</param>
    /// <param name="options">Runs, threads, batch and the cache.</param>
    /// <param name="cancellationToken">Cancels between conversions and runs.</param>
    /// <returns>The model; <see cref="QuantizationReport.SpeedAware"/> holds every decision with its numbers.</returns>
    /// <exception cref="ArgumentException">There is no input batch, or an option is out of range.</exception>
    /// <exception cref="InvalidDataException">The cache file exists and is not a valid speed cache (named in the message).</exception>
    /// <example>
    /// <code language="csharp">
    /// var step = new SpeedAwarePlacement(() =&gt; new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
    /// QuantizedModel int8 = step.Run(OnnxModel.Load("cls.onnx"), batches, new SpeedAwareOptions { CachePath = "cls.speed.json" });
    /// Console.WriteLine(int8.Report.SpeedAware);   // each unit: int8 µs, fp32 µs, kept float or int8
    /// </code>
    /// </example>
    public QuantizedModel Run(OnnxModel model, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration, SpeedAwareOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        return RunStreamed(model, calibration, options, cancellationToken);
    }

    /// <summary>
    /// <see cref="Run"/> on batches enumerated again for every conversion (each enumeration must give the same batches,
    /// as an ML.NET data view's cursors do).
    /// </summary>
    internal QuantizedModel RunStreamed(OnnxModel model, IEnumerable<IReadOnlyList<NamedTensor>> calibration, SpeedAwareOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        var firstBatch = calibration.FirstOrDefault();
        if (firstBatch is null || firstBatch.Count == 0)
            throw new ArgumentException("Speed-aware placement times the model on the first calibration batch; there is none.", nameof(calibration));
        options.Check();
        bool dynamic = _createQuantizer() is { IsDynamicMode: true };
        var search = new FloatFallbackSearch(_createQuantizer, _prepareOptions, model, dynamic ? [] : calibration,
            q => (0, q.Report.OutputSqnrDb ?? double.NaN), cancellationToken);
        var (full, units) = search.Start(Candidates);
        var inputs = firstBatch.Select(t => Slice(t, options.BatchSize)).ToList();
        byte[] fp32 = QuantizationFlow.PrepareFloatGraph(model, _prepareOptions ?? new PrepareOptions()).ToModel().ToBytes();
        var key = new SpeedCacheKey(System.Convert.ToHexString(SHA256.HashData(model.ToBytes())).ToLowerInvariant(),
            string.Join(",", inputs.Select(i => $"{i.Name}={string.Join('x', i.Shape)}")), options.IntraOpThreads, CpuModel(), OrtEnv.Instance().GetVersionString());

        string? note = null;
        var cached = options.CachePath is { } path ? SpeedCache.TryRead(path, key, units, out note) : null;
        if (note is not null)
            options.Log?.Report(note);
        var watch = Stopwatch.StartNew();
        var timings = cached?.Units ?? Measure(search, fp32, full, units, inputs, options, cancellationToken);
        var decisions = Decide(timings);
        foreach (var d in decisions)
            options.Log?.Report(d.ToString());
        var inFloat = decisions.Where(d => d.KeptFloat).Select(d => d.NodeName).ToList();
        var placed = inFloat.Count > 0 ? search.Trial(inFloat) : full;
        var check = cached?.Check ?? Check(fp32, full, inFloat.Count > 0 ? placed : null, inputs, options, cancellationToken);
        double measuring = cached?.MeasuringSeconds ?? watch.Elapsed.TotalSeconds;

        var (chosen, outcome) = (inFloat.Count > 0 && check.PlacedMicros <= check.Int8Micros ? placed : full,
            inFloat.Count > 0 && check.PlacedMicros <= check.Int8Micros ? SpeedAwareOutcome.Placed : SpeedAwareOutcome.FullyQuantized);
        double chosenMicros = outcome == SpeedAwareOutcome.Placed ? check.PlacedMicros!.Value : check.Int8Micros;
        if (chosenMicros > check.Fp32Micros)
            (chosen, outcome) = (search.Trial(units.Select(u => u.Name).ToList()), SpeedAwareOutcome.FloatEquivalent);

        if (cached is null && options.CachePath is { } target)
            SpeedCache.Write(target, new SpeedCacheFile(SpeedCache.Format, SpeedCache.Version, key, timings, check, measuring));
        var result = new SpeedAwareResult(decisions, outcome, check.Fp32Micros, check.Int8Micros, check.PlacedMicros, TimeSpan.FromSeconds(measuring),
            cached is not null, options.CachePath, key.Inputs, note);
        var final = search.Final(chosen);
        return new QuantizedModel(final.Model, final.Report.WithSpeedAware(result));
    }

    private static List<SpeedDecision> Decide(IEnumerable<SpeedCacheUnit> timings) => timings
        .Select(u => SpeedDecisionRule.Decide(u.Node, u.OpType, new UnitCost(u.Int8KernelMicros, u.Int8BoundaryMicros, u.AddedIfFloatMicros), u.Fp32Micros)).ToList();

    /// <summary>
    /// Profiles the fully quantized model against fp32, then, while units go float, the placed model again: a unit
    /// left int8 between float neighbours has new boundaries. Units only ever move to float, so this ends; a unit keeps
    /// the timings of the round that decided it, so the same timings (from the cache) give the same decisions.
    /// </summary>
    private static List<SpeedCacheUnit> Measure(FloatFallbackSearch search, byte[] fp32, FallbackTrial full, IReadOnlyList<(string Name, string OpType)> units,
        List<NamedTensor> inputs, SpeedAwareOptions options, CancellationToken token)
    {
        var timings = Profile(fp32, full.Model.Model.ToBytes(), units, inputs, options, token);
        for (int round = 1; round < options.MaxRounds; round++)
        {
            var inFloat = Decide(timings).Where(d => d.KeptFloat).Select(d => d.NodeName).ToHashSet(StringComparer.Ordinal);
            var remaining = units.Where(u => !inFloat.Contains(u.Name)).ToList();
            if (inFloat.Count == 0 || remaining.Count == 0)
                break;
            var again = Profile(fp32, search.Trial([.. inFloat]).Model.Model.ToBytes(), remaining, inputs, options, token).ToDictionary(u => u.Node, StringComparer.Ordinal);
            var next = timings.Select(u => again.GetValueOrDefault(u.Node) ?? u).ToList();
            bool moved = Decide(next).Count(d => d.KeptFloat) > inFloat.Count;
            timings = next;
            if (!moved)
                break;
        }

        return timings;
    }

    /// <summary>Profiles the fp32 and int8 models alternately and gives each unit's timings.</summary>
    private static List<SpeedCacheUnit> Profile(byte[] fp32, byte[] int8, IReadOnlyList<(string Name, string OpType)> units, List<NamedTensor> inputs, SpeedAwareOptions options, CancellationToken token)
    {
        using var floatSession = new TimedSession(fp32, inputs, options.IntraOpThreads, profile: true, "fp32 model");
        using var int8Session = new TimedSession(int8, inputs, options.IntraOpThreads, profile: true, "int8 model");
        TimedSession.Alternate([floatSession, int8Session], options.WarmupRuns + options.ProfileRuns, token, options.RoundBudget, options.WarmupRuns + MinRuns);
        var names = units.Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        var (floatGraph, floatNodes) = floatSession.EndProfiling(options.WarmupRuns);
        var (int8Graph, int8Nodes) = int8Session.EndProfiling(options.WarmupRuns);
        var floatCosts = new ExecutedGraph(floatGraph, floatNodes, ModelProto.Parser.ParseFrom(fp32).Graph, names).Costs(0, 0);
        var executed = new ExecutedGraph(int8Graph, int8Nodes, ModelProto.Parser.ParseFrom(int8).Graph, names);
        double q = executed.MicrosPerElement("QuantizeLinear"), dq = executed.MicrosPerElement("DequantizeLinear");
        (q, dq) = (double.IsNaN(q) ? (double.IsNaN(dq) ? 0 : dq) : q, double.IsNaN(dq) ? (double.IsNaN(q) ? 0 : q) : dq);
        var int8Costs = executed.Costs(q, dq);
        return units.Select(u =>
        {
            var c = int8Costs.GetValueOrDefault(u.Name) ?? new UnitCost(0, 0, 0);
            double? f = floatCosts.TryGetValue(u.Name, out var fc) ? Round(fc.KernelMicros) : null;
            return new SpeedCacheUnit(u.Name, u.OpType, Round(c.KernelMicros), Round(c.BoundaryMicros), f, Round(c.AddedIfFloatMicros));
        }).ToList();
    }

    /// <summary>The whole-model check: medians of the fp32, full int8 and placed models in alternating runs.</summary>
    private static SpeedCacheCheck Check(byte[] fp32, FallbackTrial full, FallbackTrial? placed, List<NamedTensor> inputs, SpeedAwareOptions options, CancellationToken token)
    {
        var models = new List<(byte[] Bytes, string Name)> { (fp32, "fp32 model"), (full.Model.Model.ToBytes(), "int8 model") };
        if (placed is not null)
            models.Add((placed.Model.Model.ToBytes(), "placed int8 model"));
        var sessions = models.Select(m => new TimedSession(m.Bytes, inputs, options.IntraOpThreads, profile: false, m.Name)).ToList();
        try
        {
            var times = TimedSession.Alternate(sessions, options.WarmupRuns + options.CheckRuns, token, 2 * options.RoundBudget, options.WarmupRuns + MinRuns);
            var medians = times.Select(t => Round(Speed.OrtProfileReader.Median(t.Skip(options.WarmupRuns)))).ToArray();
            return new SpeedCacheCheck(medians[0], medians[1], placed is null ? null : medians[2]);
        }
        finally
        {
            foreach (var s in sessions)
                s.Dispose();
        }
    }

    private static double Round(double micros) => Math.Round(micros, 2);

    /// <summary>The first <paramref name="batch"/> samples of <paramref name="tensor"/> (all of them when it has fewer).</summary>
    private static NamedTensor Slice(NamedTensor tensor, int batch)
    {
        if (tensor.Shape.Length == 0 || tensor.Shape[0] <= batch)
            return tensor;
        int per = tensor.Shape.Skip(1).Aggregate(1, (a, b) => a * b);
        int[] shape = [batch, .. tensor.Shape.Skip(1)];
        return tensor.Floats is { } f
            ? NamedTensor.FromFloats(tensor.Name, f[..(batch * per)], shape)
            : NamedTensor.FromInt64(tensor.Name, tensor.Int64s![..(batch * per)], shape);
    }

    /// <summary>The CPU's model name (Linux: <c>/proc/cpuinfo</c>), with the architecture and core count.</summary>
    internal static string CpuModel()
    {
        string name = "unknown";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                name = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? name;
        }
        catch (IOException)
        {
        }

        return string.Create(CultureInfo.InvariantCulture, $"{name}; {RuntimeInformation.ProcessArchitecture}; {Environment.ProcessorCount} cores");
    }
}
