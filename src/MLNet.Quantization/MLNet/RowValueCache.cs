using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Quantization;

/// <summary>
/// Keeps one pass-through column's values for the rows of a batch, so that rows read ahead to fill an ONNX Runtime
/// batch can still be served one at a time.
/// </summary>
internal abstract class RowValueCache
{
    public static RowValueCache Create(DataViewRow row, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        var raw = column.Type.RawType;
        Type cacheType = raw.IsGenericType && raw.GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? typeof(VectorValueCache<>).MakeGenericType(raw.GetGenericArguments()[0])
            : typeof(ScalarValueCache<>).MakeGenericType(raw);
        return (RowValueCache)Activator.CreateInstance(cacheType, row, column, capacity, currentSlot)!;
    }

    /// <summary>Stores the current row's value in slot <paramref name="slot"/>.</summary>
    public abstract void Read(int slot);

    /// <summary>A getter serving the value of the cursor's current slot.</summary>
    public abstract Delegate Getter { get; }
}

internal sealed class ScalarValueCache<T> : RowValueCache
{
    private readonly ValueGetter<T> _source;
    private readonly T[] _values;
    private readonly Func<int> _slot;

    public ScalarValueCache(DataViewRow row, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        _source = row.GetGetter<T>(column);
        _values = new T[capacity];
        _slot = currentSlot;
        Getter = (ValueGetter<T>)((ref T value) => value = _values[_slot()]);
    }

    public override Delegate Getter { get; }

    public override void Read(int slot)
    {
        _source(ref _values[slot]);
        if (_values[slot] is ReadOnlyMemory<char> text)
            _values[slot] = (T)(object)text.ToString().AsMemory(); // the source may reuse its buffer
    }
}

internal sealed class VectorValueCache<T> : RowValueCache
{
    private readonly ValueGetter<VBuffer<T>> _source;
    private readonly VBuffer<T>[] _values;
    private readonly Func<int> _slot;
    private VBuffer<T> _scratch;

    public VectorValueCache(DataViewRow row, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        _source = row.GetGetter<VBuffer<T>>(column);
        _values = new VBuffer<T>[capacity];
        _slot = currentSlot;
        Getter = (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) => _values[_slot()].CopyTo(ref value));
    }

    public override Delegate Getter { get; }

    public override void Read(int slot)
    {
        _source(ref _scratch);
        _scratch.CopyTo(ref _values[slot]);
    }
}
