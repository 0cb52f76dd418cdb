using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Quantization.TorchSharp.Qat;

/// <summary>Reads an ML.NET data view's feature vector and label columns into arrays for training.</summary>
internal static class DataViewSamples
{
    public static (float[] Features, int[] Labels) Read(IDataView data, string featureColumn, string labelColumn, int sampleSize)
    {
        ArgumentNullException.ThrowIfNull(data);
        var features = Column(data, featureColumn);
        var label = Column(data, labelColumn);
        if (features.Type is not VectorDataViewType { ItemType: var item } vector || item != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{featureColumn}' must be a vector of Single; it is {features.Type}.", nameof(featureColumn));
        if (vector.Size != 0 && vector.Size != sampleSize)
            throw new ArgumentException($"Column '{featureColumn}' has {vector.Size} values per row; the model input needs {sampleSize}.", nameof(featureColumn));

        var values = new List<float>();
        var labels = new List<int>();
        using var cursor = data.GetRowCursor([features, label]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        var getLabel = LabelGetter(cursor, label);
        VBuffer<float> row = default;
        while (cursor.MoveNext())
        {
            getFeatures(ref row);
            if (row.Length != sampleSize)
                throw new ArgumentException($"Row {cursor.Position} of column '{featureColumn}' has {row.Length} values; the model input needs {sampleSize}.", nameof(data));
            foreach (var v in row.DenseValues())
                values.Add(v);
            labels.Add(getLabel());
        }

        return (values.ToArray(), labels.ToArray());
    }

    private static DataViewSchema.Column Column(IDataView data, string name) =>
        data.Schema.GetColumnOrNull(name) ?? throw new ArgumentException($"The data view has no column '{name}' (has: {string.Join(", ", data.Schema.Select(c => c.Name))}).", nameof(name));

    private static Func<int> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case KeyDataViewType:
            {
                var get = cursor.GetGetter<uint>(column);
                uint v = 0;
                return () => { get(ref v); return v == 0 ? throw new ArgumentException($"Label column '{column.Name}' has a missing key value.") : (int)(v - 1); };
            }
            case var t when t == NumberDataViewType.Int32:
            {
                var get = cursor.GetGetter<int>(column);
                int v = 0;
                return () => { get(ref v); return v; };
            }
            case var t when t == NumberDataViewType.Int64:
            {
                var get = cursor.GetGetter<long>(column);
                long v = 0;
                return () => { get(ref v); return checked((int)v); };
            }
            case var t when t == NumberDataViewType.Single:
            {
                var get = cursor.GetGetter<float>(column);
                float v = 0;
                return () => { get(ref v); return v == MathF.Round(v) ? (int)v : throw new ArgumentException($"Label column '{column.Name}' has the non-integer value {v}."); };
            }
            default:
                throw new ArgumentException($"Label column '{column.Name}' has type {column.Type}; use a key, Int32, Int64 or Single column.");
        }
    }
}
