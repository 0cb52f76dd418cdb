using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Graph;

/// <summary>One dimension of a shape: a fixed size, a symbolic name, or unknown (both null).</summary>
/// <param name="Value">The size, when fixed.</param>
/// <param name="Symbol">The symbolic name (e.g. <c>batch</c>), when not fixed.</param>
public readonly record struct Dimension(long? Value, string? Symbol)
{
    /// <inheritdoc />
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>A tensor's name, element type and shape, as a graph input, output or value_info declares it.</summary>
public sealed class ValueInfo
{
    /// <summary>Creates a value info.</summary>
    public ValueInfo(string name, TensorElementType elementType, IReadOnlyList<Dimension>? shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        ElementType = elementType;
        Shape = shape;
    }

    /// <summary>The tensor's name.</summary>
    public string Name { get; }

    /// <summary>The element type; <see cref="TensorElementType.Undefined"/> when unknown or not a tensor.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The shape, or null when even the rank is unknown.</summary>
    public IReadOnlyList<Dimension>? Shape { get; }

    /// <summary>The fixed dims, or null when the rank or any dim is not fixed.</summary>
    public long[]? FixedShape => Shape is null || Shape.Any(d => d.Value is null) ? null : Shape.Select(d => d.Value!.Value).ToArray();

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {ElementType}[{(Shape is null ? "?" : string.Join(", ", Shape))}]";

    internal static ValueInfo FromProto(ValueInfoProto proto)
    {
        var tensor = proto.Type?.TensorType;
        if (tensor is null)
            return new ValueInfo(proto.Name, TensorElementType.Undefined, null);
        IReadOnlyList<Dimension>? shape = tensor.Shape is null
            ? null
            : tensor.Shape.Dim.Select(d => d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => new Dimension(d.DimValue, null),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => new Dimension(null, d.DimParam),
                _ => new Dimension(null, null),
            }).ToArray();
        return new ValueInfo(proto.Name, (TensorElementType)tensor.ElemType, shape);
    }

    internal ValueInfoProto ToProto()
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)ElementType };
        if (Shape is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in Shape)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Value is long v)
                    dim.DimValue = v;
                else if (d.Symbol is not null)
                    dim.DimParam = d.Symbol;
                tensor.Shape.Dim.Add(dim);
            }
        }

        return new ValueInfoProto { Name = Name, Type = new TypeProto { TensorType = tensor } };
    }
}
