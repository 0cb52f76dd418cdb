using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>Copies one model input column, row by row, into a batch buffer of the column's element type.</summary>
internal abstract class InputColumnReader
{
    protected InputColumnReader(ModelInputBinding binding) => Binding = binding;

    public ModelInputBinding Binding { get; }

    /// <summary>Shape of one row, known after the first <see cref="Read"/>.</summary>
    public int[] RowShape { get; protected set; } = [];

    public static InputColumnReader Create(ModelInputBinding binding, DataViewRow row, int capacity)
    {
        var column = row.Schema[binding.Name];
        return binding.ColumnElementType switch
        {
            TensorElementType.Float => new InputColumnReader<float>(binding, row.GetGetter<VBuffer<float>>(column), capacity),
            TensorElementType.Double => new InputColumnReader<double>(binding, row.GetGetter<VBuffer<double>>(column), capacity),
            TensorElementType.Int32 => new InputColumnReader<int>(binding, row.GetGetter<VBuffer<int>>(column), capacity),
            TensorElementType.Int64 => new InputColumnReader<long>(binding, row.GetGetter<VBuffer<long>>(column), capacity),
            _ => throw new NotSupportedException($"Column '{binding.Name}' has an unsupported element type {binding.ColumnElementType}."),
        };
    }

    /// <summary>Reads the row's value into batch slot <paramref name="slot"/>.</summary>
    public abstract void Read(int slot);

    /// <summary>The first <paramref name="count"/> rows as an ONNX Runtime tensor over the buffer (no copy).</summary>
    public abstract OrtValue ToOrtValue(int count);

    /// <summary>The first <paramref name="count"/> rows as a calibration tensor of the model's own element type (copied, converted as ONNX Cast does).</summary>
    public abstract NamedTensor ToNamedTensor(int count);
}

internal sealed class InputColumnReader<T> : InputColumnReader
    where T : unmanaged
{
    private readonly ValueGetter<VBuffer<T>> _getter;
    private readonly int _capacity;
    private VBuffer<T> _value;
    private T[] _buffer = [];
    private int _rowSize = -1;

    public InputColumnReader(ModelInputBinding binding, ValueGetter<VBuffer<T>> getter, int capacity)
        : base(binding)
    {
        _getter = getter;
        _capacity = capacity;
    }

    public override void Read(int slot)
    {
        _getter(ref _value);
        if (_rowSize < 0 || _value.Length != _rowSize)
        {
            if (slot != 0)
                throw new InvalidOperationException($"Input column '{Binding.Name}' changes its vector size within a batch.");
            RowShape = Binding.RowShapeFor(_value.Length);
            _rowSize = _value.Length;
            if (_buffer.Length < _capacity * _rowSize)
                _buffer = new T[_capacity * _rowSize];
        }

        var target = _buffer.AsSpan(slot * _rowSize, _rowSize);
        var values = _value.GetValues();
        if (_value.IsDense)
        {
            values.CopyTo(target);
            return;
        }

        target.Clear();
        var indices = _value.GetIndices();
        for (int i = 0; i < indices.Length; i++)
            target[indices[i]] = values[i];
    }

    public override OrtValue ToOrtValue(int count)
    {
        long[] shape = [count, .. RowShape.Select(d => (long)d)];
        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _buffer.AsMemory(0, count * _rowSize), shape);
    }

    public override NamedTensor ToNamedTensor(int count)
    {
        var source = _buffer.AsSpan(0, count * _rowSize);
        int[] shape = [count, .. RowShape];
        if (Binding.Input.ElementType == TensorElementType.Int64)
        {
            var longs = new long[source.Length];
            for (int i = 0; i < source.Length; i++)
                longs[i] = source[i] switch
                {
                    float f => (long)f,
                    double d => (long)d,
                    int n => n,
                    long l => l,
                    _ => throw new NotSupportedException(),
                };
            return NamedTensor.FromInt64(Binding.Name, longs, shape);
        }

        if (Binding.Input.ElementType != TensorElementType.Float)
            throw new NotSupportedException($"Calibration supports float and int64 model inputs; '{Binding.Name}' is {Binding.Input.ElementType}.");
        var floats = new float[source.Length];
        if (typeof(T) == typeof(float))
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(source).CopyTo(floats);
        }
        else
        {
            for (int i = 0; i < source.Length; i++)
                floats[i] = source[i] switch
                {
                    double d => (float)d,
                    int n => n,
                    long l => l,
                    float f => f,
                    _ => throw new NotSupportedException(),
                };
        }

        return NamedTensor.FromFloats(Binding.Name, floats, shape);
    }
}
