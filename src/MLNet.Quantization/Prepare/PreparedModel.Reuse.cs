using System.Security.Cryptography;
using Google.Protobuf;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization;

/// <summary>
/// A calibrated prepared model's activation statistics, kept so that another preparation of the same float graph
/// (the trials of a float-fallback search, which differ only in which nodes stay float) can take them instead of
/// calibrating again: <see cref="PreparedModel.CalibrateReusing"/>.
/// </summary>
internal sealed class HeldStatistics
{
    internal HeldStatistics(byte[] graphHash, Dictionary<string, Observer> byKey, CalibrationProgress observed, int largestBatch, CheckSampleBuffer checkSamples)
    {
        GraphHash = graphHash;
        ByKey = byKey;
        Observed = observed;
        LargestBatch = largestBatch;
        CheckSamples = checkSamples;
    }

    /// <summary>SHA-256 of the prepared float graph the statistics were observed on.</summary>
    public byte[] GraphHash { get; }

    /// <summary>Each group's observer, by <see cref="PreparedModel.GroupIdentity"/>.</summary>
    public Dictionary<string, Observer> ByKey { get; }

    /// <summary>What the calibration observed (batches, samples, time).</summary>
    public CalibrationProgress Observed { get; }

    /// <summary>The most samples one calibration run fed.</summary>
    public int LargestBatch { get; }

    /// <summary>The calibration samples kept for the quality check.</summary>
    public CheckSampleBuffer CheckSamples { get; }
}

/// <summary>What <see cref="PreparedModel.CalibrateReusing"/> did: groups taken from held statistics, and groups observed anew.</summary>
internal readonly record struct ReuseOutcome(int Reused, int Observed);

/// <summary>Reusing another preparation's calibration statistics for the groups whose identity is unchanged.</summary>
public sealed partial class PreparedModel
{
    /// <summary>
    /// This model's activation statistics, to be reused by <see cref="CalibrateReusing"/> of a later preparation of
    /// the same float graph; null when they cannot be (bias correction's input means are not carried, or an observer
    /// has no settings form that identifies it).
    /// </summary>
    internal HeldStatistics? HoldStatistics()
    {
        if (_options.BiasCorrection || _calibration.Batches == 0)
            return null;
        var byKey = new Dictionary<string, Observer>(StringComparer.Ordinal);
        foreach (var (group, key) in GroupIdentities())
        {
            if (key is null)
                return null;
            byKey[key] = group.Observer!;
        }

        return new HeldStatistics(GraphHash(), byKey, _calibration, _largestCalibrationBatch, _checkSamples);
    }

    /// <summary>
    /// Calibrates as <see cref="Calibrate"/> on <paramref name="batches"/> would, taking every activation group whose
    /// identity (<see cref="GroupIdentity"/>) <paramref name="held"/> has from it and observing only the others, on the
    /// same batches; when every group is held, <paramref name="batches"/> is not enumerated at all. The statistics
    /// equal those of <see cref="Calibrate"/> on a fresh preparation, provided <paramref name="held"/> was observed on
    /// the same batches. Falls back to <see cref="Calibrate"/> when the float graph differs from the held one.
    /// </summary>
    internal ReuseOutcome CalibrateReusing(HeldStatistics held, IEnumerable<IReadOnlyList<NamedTensor>> batches, CancellationToken cancellationToken)
    {
        var groups = GroupIdentities();
        if (_options.BiasCorrection || _calibration.Batches != 0 || !GraphHash().AsSpan().SequenceEqual(held.GraphHash))
        {
            Calibrate(batches, cancellationToken: cancellationToken);
            return new ReuseOutcome(0, groups.Count);
        }

        var reused = new List<(QuantGroup Group, Observer Observer)>();
        var fresh = new List<(QuantGroup Group, Observer Observer)>();
        foreach (var (group, key) in groups)
        {
            if (key is not null && held.ByKey.TryGetValue(key, out var source))
            {
                var copy = group.Observer!.CreateEmpty();
                copy.Merge(source);
                reused.Add((group, copy));
            }
            else
            {
                fresh.Add((group, group.Observer!.CreateEmpty()));
            }
        }

        new StageReporter(_options.Progress, QuantizationStage.Calibrate).Step(
            $"reusing the statistics of {reused.Count} groups; calibrating {fresh.Count} groups anew");
        if (fresh.Count > 0)
        {
            // the tensors in the order a full calibration fetches them, so each observer sees its tensors in the same order
            var freshSet = new HashSet<QuantGroup>(fresh.Select(f => f.Group));
            var observerOf = fresh.ToDictionary(f => f.Group, f => f.Observer);
            var order = new List<string>();
            var byTensor = new Dictionary<string, List<Observer>>(StringComparer.Ordinal);
            foreach (var (group, _) in groups)
            {
                foreach (var tensor in group.Tensors)
                {
                    if (!byTensor.TryGetValue(tensor, out var list))
                    {
                        byTensor[tensor] = list = [];
                        order.Add(tensor);
                    }

                    if (freshSet.Contains(group))
                        list.Add(observerOf[group]);
                }
            }

            var observed = new Dictionary<string, List<Observer>>(StringComparer.Ordinal);
            foreach (string tensor in order.Where(t => byTensor[t].Count > 0))
                observed[tensor] = byTensor[tensor];
            var calibrator = new Calibrator(_graph, observed, _options.CalibrationThreads);
            calibrator.Run(batches, null, cancellationToken);
        }

        foreach (var (group, observer) in reused.Concat(fresh))
            group.Observer!.Merge(observer);
        _checkSamples = held.CheckSamples;
        _largestCalibrationBatch = held.LargestBatch;
        RecordObservations(held.Observed);
        return new ReuseOutcome(reused.Count, fresh.Count);
    }

    /// <summary>The activation groups in order, each with its <see cref="GroupIdentity"/>.</summary>
    private List<(QuantGroup Group, string? Key)> GroupIdentities()
    {
        var inputs = new HashSet<string>(_graph.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        var groups = _groups.Where(g => g.Kind == QuantGroupKind.Activation).ToList();
        var fetchOrder = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            foreach (var tensor in group.Tensors)
                fetchOrder.TryAdd(tensor, fetchOrder.Count);
        }

        return groups.Select(g => (g, GroupIdentity(g, inputs, fetchOrder))).ToList();
    }

    /// <summary>
    /// What a group's statistics depend on: its observer's kind and settings (<see cref="ObserverSettings"/>) and the
    /// tensors it observes in the order it observes them within a batch (model inputs first, by name, since every
    /// calibration feeds them in the batch's order; then the fetched tensors in fetch order). A shared group whose
    /// members changed, or whose tensors come in another order, is another group. Null for an observer without a
    /// settings form (a custom type): such a group is always observed anew.
    /// </summary>
    private static string? GroupIdentity(QuantGroup group, HashSet<string> inputs, Dictionary<string, int> fetchOrder)
    {
        byte[] settings;
        try
        {
            settings = ObserverSettings.ToBytes(group.Observer!);
        }
        catch (NotSupportedException)
        {
            return null;
        }

        var fed = group.Tensors.Where(inputs.Contains).Order(StringComparer.Ordinal);
        var fetched = group.Tensors.Where(t => !inputs.Contains(t)).OrderBy(t => fetchOrder[t]);
        return $"{System.Convert.ToHexString(settings)}\n{string.Join('\n', fed)}\n\n{string.Join('\n', fetched)}";
    }

    private byte[] GraphHash() => SHA256.HashData(_graph.ToModel().Proto.ToByteArray());
}
