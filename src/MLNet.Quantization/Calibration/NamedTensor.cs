namespace MLNet.Quantization.Calibration;

/// <summary>One model input's value for a calibration batch: a name, C-order data and a shape.</summary>
public sealed class NamedTensor
{
    private NamedTensor(string name, int[] shape, float[]? floats, long[]? int64s)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].", nameof(shape));
            count *= d;
        }

        int length = floats?.Length ?? int64s!.Length;
        if (count != length)
            throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} values) but {length} values.", nameof(shape));
        Name = name;
        Shape = shape;
        Floats = floats;
        Int64s = int64s;
    }

    /// <summary>A float tensor.</summary>
    public static NamedTensor FromFloats(string name, float[] data, params int[] shape) => new(name, shape, data ?? throw new ArgumentNullException(nameof(data)), null);

    /// <summary>An int64 tensor (e.g. token ids).</summary>
    public static NamedTensor FromInt64(string name, long[] data, params int[] shape) => new(name, shape, null, data ?? throw new ArgumentNullException(nameof(data)));

    /// <summary>The model input's name.</summary>
    public string Name { get; }

    /// <summary>The shape, batch dimension first.</summary>
    public int[] Shape { get; }

    /// <summary>The data when the tensor is float.</summary>
    public float[]? Floats { get; }

    /// <summary>The data when the tensor is int64.</summary>
    public long[]? Int64s { get; }
}
