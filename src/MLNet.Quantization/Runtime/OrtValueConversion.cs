using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Graph;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace MLNet.Quantization.Runtime;

/// <summary>Turns ONNX Runtime outputs into <see cref="TensorData"/>.</summary>
internal static class OrtValueConversion
{
    public static TensorData ToTensorData(DisposableNamedOnnxValue value, string name)
    {
        var elementType = value.ElementType;
        return elementType switch
        {
            TensorElementType.Float => Make<float>(value, name, (n, d, v) => TensorData.FromFloats(n, d, v)),
            TensorElementType.Double => Make<double>(value, name, (n, d, v) => TensorData.FromDoubles(n, d, v)),
            TensorElementType.Int64 => Make<long>(value, name, (n, d, v) => TensorData.FromInt64(n, d, v)),
            TensorElementType.Int32 => Make<int>(value, name, (n, d, v) => TensorData.FromInt32(n, d, v)),
            TensorElementType.Int8 => Make<sbyte>(value, name, (n, d, v) => TensorData.FromInt8(n, d, v)),
            TensorElementType.UInt8 => Make<byte>(value, name, (n, d, v) => TensorData.FromUInt8(n, d, v)),
            TensorElementType.Int16 => Make<short>(value, name, (n, d, v) => TensorData.FromInt16(n, d, v)),
            TensorElementType.UInt16 => Make<ushort>(value, name, (n, d, v) => TensorData.FromUInt16(n, d, v)),
            TensorElementType.Bool => Make<bool>(value, name, (n, d, v) => TensorData.FromValues(n, d, MemoryMarshalBool(v))),
            _ => throw new NotSupportedException($"Tensor '{name}' has element type {elementType}, which cannot be stored as a constant here."),
        };
    }

    private static ReadOnlySpan<byte> MemoryMarshalBool(ReadOnlySpan<bool> values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);

    private delegate TensorData Factory<T>(string name, ReadOnlySpan<long> dims, ReadOnlySpan<T> values);

    private static TensorData Make<T>(DisposableNamedOnnxValue value, string name, Factory<T> factory)
    {
        var tensor = value.AsTensor<T>();
        var dims = tensor.Dimensions.ToArray().Select(d => (long)d).ToArray();
        var data = tensor is DenseTensor<T> dense ? dense.Buffer.Span : tensor.ToArray();
        var result = factory(name, dims, data);
        if (typeof(T) == typeof(bool))
            result.Proto.DataType = (int)Onnx.Proto.TensorProto.Types.DataType.Bool;
        return result;
    }
}
