namespace MLNet.Quantization.Numerics;

/// <summary>The integer type a tensor is quantized to.</summary>
public enum QuantDataType
{
    /// <summary>Unsigned 8-bit, [0, 255]; ONNX <c>UINT8</c>, PyTorch <c>quint8</c>.</summary>
    UInt8,
    /// <summary>Signed 8-bit, [-128, 127]; ONNX <c>INT8</c>, PyTorch <c>qint8</c>.</summary>
    Int8,
    /// <summary>Unsigned 16-bit, [0, 65535]; ONNX <c>UINT16</c>.</summary>
    UInt16,
    /// <summary>Signed 16-bit, [-32768, 32767]; ONNX <c>INT16</c>.</summary>
    Int16,
    /// <summary>Signed 32-bit; used for biases (ONNX <c>INT32</c>, PyTorch <c>qint32</c>).</summary>
    Int32,
}
