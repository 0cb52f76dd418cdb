using MLNet.Quantization.Calibration;

namespace MLNet.Quantization;

/// <summary>
/// Keeps the first calibration batches, up to a number of samples and a byte budget, so that <see cref="PreparedModel.Convert"/>
/// can run the float and the int8 model side by side on data the user gave. Whole batches are kept (a fixed-batch
/// model takes nothing else), so the count can exceed the target by less than one batch.
/// </summary>
internal sealed class CheckSampleBuffer(int targetSamples, long maxBytes)
{
    private readonly List<IReadOnlyList<NamedTensor>> _batches = [];
    private long _bytes;

    /// <summary>Samples kept so far.</summary>
    public long Samples { get; private set; }

    /// <summary>The kept batches.</summary>
    public IReadOnlyList<IReadOnlyList<NamedTensor>> Batches => _batches;

    /// <summary>Keeps <paramref name="batch"/> when the target is not reached and it fits the budget.</summary>
    public void Offer(IReadOnlyList<NamedTensor> batch)
    {
        if (Samples >= targetSamples || batch.Count == 0)
            return;
        long bytes = batch.Sum(t => (long)(t.Floats?.Length ?? 0) * sizeof(float) + (long)(t.Int64s?.Length ?? 0) * sizeof(long));
        if (_bytes + bytes > maxBytes)
            return;
        _batches.Add(batch);
        _bytes += bytes;
        Samples += batch[0].Shape.Length > 0 ? batch[0].Shape[0] : 1;
    }
}
