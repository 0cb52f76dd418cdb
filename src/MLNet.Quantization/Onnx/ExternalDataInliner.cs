using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// Replaces every external-data reference in a model (initializers, sparse and attribute tensors such as a Constant's
/// value, in the main graph and every subgraph) with the bytes read through the model's checked external-data store.
/// ONNX Runtime, handed a model as bytes, would resolve a relative location against the current directory instead.
/// </summary>
internal static class ExternalDataInliner
{
    /// <summary>
    /// Inlines, in place, every external tensor of <paramref name="proto"/>, reading it through <paramref name="reader"/>
    /// (whose folder the locations are relative to). The proto must be one the caller owns (a fresh copy).
    /// </summary>
    /// <exception cref="OnnxFormatException">A location is unsafe, missing or out of bounds.</exception>
    internal static void InlineAll(ModelProto proto, OnnxModel reader)
    {
        foreach (var site in OnnxTensorWalker.AllTensors(proto))
        {
            var tensor = site.Tensor;
            if (!TensorLayout.IsExternal(tensor))
            {
                continue;
            }

            var raw = reader.GetRawData(tensor);
            tensor.ExternalData.Clear();
            tensor.ClearDataLocation();
            tensor.RawData = ByteString.CopyFrom(raw.Span);
        }
    }
}
