using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Calibration;

/// <summary>
/// Sizes calibration batches from memory: one calibration run holds the batch's inputs and every observed activation
/// at once (ORT returns them all as outputs), so the bytes a sample needs are the bytes of those tensors without their
/// batch dimension, and a batch takes at most as many samples as fit in the budget.
/// </summary>
/// <example>
/// A ResNet-style model observing 12 MB of activations per sample, with the default 512 MiB budget and 64 samples
/// asked for, calibrates on 42 samples per run: <c>CalibrationMemory.BatchSize(12 &lt;&lt; 20, 512L &lt;&lt; 20, 64)</c>.
/// </example>
internal static class CalibrationMemory
{
    /// <summary>
    /// Bytes per sample of the given tensors (element size × the product of the dimensions after the first), or null when
    /// a tensor's type or a dimension after the first is unknown or symbolic.
    /// </summary>
    public static long? BytesPerSample(IEnumerable<ValueInfo?> tensors)
    {
        long total = 0;
        foreach (var tensor in tensors)
        {
            if (tensor?.Shape is not { Count: > 0 } shape || ElementBytes(tensor.ElementType) is not { } size)
                return null;
            long elements = 1;
            foreach (var dim in shape.Skip(1))
            {
                if (dim.Value is not { } value || value < 0)
                    return null;
                elements = checked(elements * value);
            }

            total = checked(total + elements * size);
        }

        return total;
    }

    /// <summary>
    /// The samples per run: <paramref name="requested"/>, lowered so that <paramref name="bytesPerSample"/> × samples
    /// stays within <paramref name="budgetBytes"/>, and at least 1 (one sample larger than the budget still runs).
    /// Unknown sizes (null) keep <paramref name="requested"/>.
    /// </summary>
    public static int BatchSize(long? bytesPerSample, long budgetBytes, int requested)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requested, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        if (bytesPerSample is not > 0)
            return requested;
        return (int)Math.Clamp(budgetBytes / bytesPerSample.Value, 1, requested);
    }

    private static int? ElementBytes(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        TensorElementType.Float16 or TensorElementType.Int16 or TensorElementType.UInt16 or TensorElementType.BFloat16 => 2,
        TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Bool => 1,
        _ => null,
    };
}
