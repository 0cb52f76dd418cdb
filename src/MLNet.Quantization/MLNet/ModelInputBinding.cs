using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>
/// One model input bound to the column of the same name: the model's element type and per-row shape (batch dimension
/// first in the model), and the column's item type, which may differ (float, double, int32, int64; a Cast is added in
/// front of the model).
/// </summary>
internal sealed class ModelInputBinding
{
    private ModelInputBinding(ValueInfo input, TensorElementType columnType, int[] rowShape)
    {
        Input = input;
        ColumnElementType = columnType;
        RowShape = rowShape;
    }

    /// <summary>The model input (its name is also the column name).</summary>
    public ValueInfo Input { get; }

    public string Name => Input.Name;

    /// <summary>The column's item type, as an ONNX element type.</summary>
    public TensorElementType ColumnElementType { get; }

    /// <summary>Shape of one row (the model shape without its batch dimension; unknown dimensions resolved from the vector size when possible, else -1).</summary>
    public int[] RowShape { get; }

    /// <summary>Values per row, or -1 when only known per row (variable-size vector column).</summary>
    public int RowSize => RowShape.Any(d => d < 0) ? -1 : RowShape.Aggregate(1, (a, b) => a * b);

    public static TensorElementType? ElementTypeOf(DataViewType itemType) => itemType switch
    {
        NumberDataViewType t when t == NumberDataViewType.Single => TensorElementType.Float,
        NumberDataViewType t when t == NumberDataViewType.Double => TensorElementType.Double,
        NumberDataViewType t when t == NumberDataViewType.Int32 => TensorElementType.Int32,
        NumberDataViewType t when t == NumberDataViewType.Int64 => TensorElementType.Int64,
        _ => null,
    };

    public static DataViewType DataViewTypeOf(TensorElementType type) => type switch
    {
        TensorElementType.Float => NumberDataViewType.Single,
        TensorElementType.Double => NumberDataViewType.Double,
        TensorElementType.Int32 => NumberDataViewType.Int32,
        TensorElementType.Int64 => NumberDataViewType.Int64,
        _ => throw new NotSupportedException($"Element type {type} is not supported."),
    };

    /// <summary>Binds against a full schema (Fit and Transform): checks name, type and vector size.</summary>
    public static ModelInputBinding Bind(ValueInfo input, DataViewSchema schema)
    {
        var column = schema.GetColumnOrNull(input.Name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{input.Name}' was not found; the model input '{input.Name}' expects {Expected(input)}. Columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        if (column.Type is not VectorDataViewType vector)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{input.Name}' has type {column.Type} but the model input expects {Expected(input)}.");
        var columnType = CheckItemType(input, vector.ItemType, column.Type.ToString() ?? "?");
        var rowShape = ResolveRowShape(input, vector.IsKnownSize ? vector.Size : 0, column.Type.ToString() ?? "?");
        return new ModelInputBinding(input, columnType, rowShape);
    }

    /// <summary>Binds against a schema shape (GetOutputSchema): name, kind and item type (sizes are not in a shape).</summary>
    public static TensorElementType Check(ValueInfo input, SchemaShape shape)
    {
        var found = shape.Where(c => c.Name == input.Name).ToList();
        if (found.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(shape), $"Input column '{input.Name}' was not found; the model input '{input.Name}' expects {Expected(input)}.");
        var column = found[^1];
        if (column.Kind == SchemaShape.Column.VectorKind.Scalar || column.IsKey)
            throw new ArgumentOutOfRangeException(nameof(shape), $"Input column '{input.Name}' is a {(column.IsKey ? "key" : "scalar")} column of {column.ItemType} but the model input expects {Expected(input)}.");
        return CheckItemType(input, column.ItemType, $"{column.Kind} of {column.ItemType}");
    }

    /// <summary>The model input's expected column, for messages: e.g. "a vector of Single with 784 values (shape [N, 1, 28, 28])".</summary>
    public static string Expected(ValueInfo input)
    {
        string shape = input.Shape is null ? "?" : string.Join(", ", input.Shape);
        var row = input.Shape?.Skip(1).ToList();
        string size = row is not null && row.All(d => d.Value is not null) ? $" with {row.Aggregate(1L, (a, d) => a * d.Value!.Value)} values" : "";
        return $"a vector of {ElementName(input.ElementType)}{size} (model shape [{shape}]; Single, Double, Int32 or Int64 columns are accepted)";
    }

    private static string ElementName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "Single",
        TensorElementType.Double => "Double",
        TensorElementType.Int32 => "Int32",
        TensorElementType.Int64 => "Int64",
        _ => type.ToString(),
    };

    private static TensorElementType CheckItemType(ValueInfo input, DataViewType itemType, string described)
    {
        if (ElementTypeOf(input.ElementType == TensorElementType.Undefined ? NumberDataViewType.Single : DataViewTypeOf(input.ElementType)) is null)
            throw new NotSupportedException($"Model input '{input.Name}' has element type {input.ElementType}; only float, double, int32 and int64 inputs are supported.");
        return ElementTypeOf(itemType)
            ?? throw new ArgumentOutOfRangeException(nameof(itemType), $"Input column '{input.Name}' has type {described} but the model input expects {Expected(input)}.");
    }

    private static int[] ResolveRowShape(ValueInfo input, int vectorSize, string described)
    {
        var dims = input.Shape ?? throw new NotSupportedException($"Model input '{input.Name}' has no declared shape.");
        if (dims.Count == 0)
            throw new NotSupportedException($"Model input '{input.Name}' is a scalar; a batch dimension is needed.");
        var row = dims.Skip(1).Select(d => d.Value is long v ? checked((int)v) : -1).ToArray();
        int unknown = row.Count(d => d < 0);
        long known = row.Where(d => d >= 0).Aggregate(1L, (a, b) => a * b);
        if (vectorSize == 0)
            return row; // variable-size column: checked per row
        if (unknown == 0)
        {
            if (known != vectorSize)
                throw new ArgumentOutOfRangeException(nameof(vectorSize), $"Input column '{input.Name}' has type {described} ({vectorSize} values per row) but the model input expects {Expected(input)}.");
            return row;
        }

        if (unknown > 1 || known == 0 || vectorSize % known != 0)
            throw new ArgumentOutOfRangeException(nameof(vectorSize), $"Input column '{input.Name}' has type {described} ({vectorSize} values per row), which cannot be reshaped to the model input's shape [{string.Join(", ", dims)}].");
        for (int i = 0; i < row.Length; i++)
        {
            if (row[i] < 0)
                row[i] = (int)(vectorSize / known);
        }

        return row;
    }

    /// <summary>The per-row shape for a row of <paramref name="length"/> values (variable-size columns).</summary>
    public int[] RowShapeFor(int length)
    {
        if (RowSize >= 0)
        {
            if (length != RowSize)
                throw new InvalidOperationException($"Input column '{Name}' has a row with {length} values; the model input expects {RowSize} values per row (shape [{string.Join(", ", RowShape)}]).");
            return RowShape;
        }

        long known = RowShape.Where(d => d >= 0).Aggregate(1L, (a, b) => a * b);
        if (RowShape.Count(d => d < 0) != 1 || known == 0 || length % known != 0)
            throw new InvalidOperationException($"Input column '{Name}' has a row with {length} values, which cannot be reshaped to [{string.Join(", ", RowShape)}].");
        return RowShape.Select(d => d < 0 ? (int)(length / known) : d).ToArray();
    }
}
