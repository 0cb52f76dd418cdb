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

    /// <summary>
    /// The kept samples in runs of at most <paramref name="maxSamples"/> (null: the kept batches as they are), in order,
    /// each run sliced along dimension 0 when it is made. A batch whose tensors do not share one leading dimension stays whole.
    /// </summary>
    public IEnumerable<IReadOnlyList<NamedTensor>> Runs(int? maxSamples)
    {
        foreach (var batch in _batches)
        {
            int rows = batch[0].Shape.Length > 0 ? batch[0].Shape[0] : 1;
            if (maxSamples is not { } most || rows <= most || batch.Any(t => t.Shape.Length == 0 || t.Shape[0] != rows))
            {
                yield return batch;
                continue;
            }

            for (int start = 0; start < rows; start += most)
            {
                int count = Math.Min(most, rows - start);
                yield return batch.Select(t => Slice(t, rows, start, count)).ToList();
            }
        }
    }

    private static NamedTensor Slice(NamedTensor tensor, int rows, int start, int count)
    {
        int[] shape = [count, .. tensor.Shape.AsSpan(1)];
        return tensor.Floats is { } floats
            ? NamedTensor.FromFloats(tensor.Name, floats.AsSpan(floats.Length / rows * start, floats.Length / rows * count).ToArray(), shape)
            : NamedTensor.FromInt64(tensor.Name, tensor.Int64s!.AsSpan(tensor.Int64s!.Length / rows * start, tensor.Int64s!.Length / rows * count).ToArray(), shape);
    }

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
