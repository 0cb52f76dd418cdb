using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization;

/// <summary>One model output for the rows of a batch, served as a vector per row.</summary>
internal abstract class OutputColumnBuffer
{
    public static OutputColumnBuffer Create(DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        if (column.Type is not VectorDataViewType vector)
            throw new NotSupportedException($"Output column '{column.Name}' has type {column.Type}; only tensor outputs are supported.");
        var raw = vector.ItemType.RawType;
        if (raw != typeof(float) && raw != typeof(double) && raw != typeof(long) && raw != typeof(int))
            throw new NotSupportedException($"Output column '{column.Name}' has item type {vector.ItemType}; supported: Single, Double, Int64, Int32.");
        var type = typeof(OutputColumnBuffer<>).MakeGenericType(raw);
        return (OutputColumnBuffer)Activator.CreateInstance(type, column.Name, capacity, currentSlot)!;
    }

    public abstract string Name { get; }

    public abstract Delegate Getter { get; }

    /// <summary>Copies a run's output for <paramref name="count"/> rows.</summary>
    public abstract void Fill(OrtValue value, int count);
}

internal sealed class OutputColumnBuffer<T> : OutputColumnBuffer
    where T : unmanaged
{
    private readonly Func<int> _slot;
    private T[] _values;
    private int _rowSize;

    public OutputColumnBuffer(string name, int capacity, Func<int> currentSlot)
    {
        Name = name;
        _slot = currentSlot;
        _values = new T[capacity];
        Getter = (ValueGetter<VBuffer<T>>)Get;
    }

    public override string Name { get; }

    public override Delegate Getter { get; }

    public override void Fill(OrtValue value, int count)
    {
        var data = value.GetTensorDataAsSpan<T>();
        if (data.Length % count != 0)
            throw new InvalidOperationException($"Output '{Name}' has {data.Length} values for {count} rows.");
        _rowSize = data.Length / count;
        if (_values.Length < data.Length)
            _values = new T[data.Length];
        data.CopyTo(_values);
    }

    private void Get(ref VBuffer<T> value)
    {
        var editor = VBufferEditor.Create(ref value, _rowSize);
        _values.AsSpan(_slot() * _rowSize, _rowSize).CopyTo(editor.Values);
        value = editor.Commit();
    }
}
