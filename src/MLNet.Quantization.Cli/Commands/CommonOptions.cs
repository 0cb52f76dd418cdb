using System.Text.Json;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>Helpers shared by the commands.</summary>
internal static class CommonOptions
{
    public static OnnxModel LoadModel(string path, string option = "--model")
    {
        if (!File.Exists(path))
            throw new CliException($"{option}: '{path}' does not exist");
        return OnnxModel.Load(path);
    }

    public static void WriteJson<T>(string path, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, info));
}
