using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// An ONNX model as read from a file, stream or bytes. Loading then saving keeps every field, including ones
/// this library does not know, so a round trip gives the same bytes.
/// </summary>
public sealed class OnnxModel
{
    internal OnnxModel(ModelProto proto, string? sourceName, string? baseDirectory)
    {
        Proto = proto;
        SourceName = sourceName;
        BaseDirectory = baseDirectory;
    }

    /// <summary>The underlying protobuf message.</summary>
    internal ModelProto Proto { get; }

    /// <summary>The file name or caller-given name the model came from, used in error messages.</summary>
    public string? SourceName { get; }

    /// <summary>The folder external-data tensors are resolved against, when the model came from a file.</summary>
    public string? BaseDirectory { get; }

    /// <summary>Loads a model from a file.</summary>
    public static OnnxModel Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return new OnnxModel(ModelProto.Parser.ParseFrom(bytes), path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Serializes the model.</summary>
    public byte[] ToBytes() => Proto.ToByteArray();
}
