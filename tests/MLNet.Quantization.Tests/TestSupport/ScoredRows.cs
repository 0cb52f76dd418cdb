using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>Reads a scored data view's float vector column, row by row.</summary>
internal static class ScoredRows
{
    /// <summary>Every row's value of <paramref name="column"/> (a float vector column), dense, in row order.</summary>
    public static List<float[]> Read(IDataView view, string column = "logits")
    {
        var col = view.Schema[column];
        using var cursor = view.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<float>>(col);
        VBuffer<float> value = default;
        var result = new List<float[]>();
        while (cursor.MoveNext())
        {
            getter(ref value);
            result.Add(value.DenseValues().ToArray());
        }

        return result;
    }
}
