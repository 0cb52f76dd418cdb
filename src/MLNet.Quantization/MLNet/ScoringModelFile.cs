using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>
/// The model file ML.NET's OnnxTransformer reads (and re-reads when it saves), owned by us and deleted on
/// <see cref="Dispose"/>. ML.NET's <c>ApplyOnnxModel(..., Stream)</c> copies the stream to a temporary file it never
/// deletes, so every fit/dispose cycle would leave a file behind; passing a path we own avoids that.
/// </summary>
internal sealed class ScoringModelFile : IDisposable
{
    private ScoringModelFile(string path) => Path = path;

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="model"/> atomically to a new file in <paramref name="directory"/> (default: the system temp folder).</summary>
    public static ScoringModelFile Write(byte[] model, string? directory)
    {
        string folder = directory ?? System.IO.Path.GetTempPath();
        if (!Directory.Exists(folder))
            throw new ArgumentException($"The temporary folder '{folder}' does not exist.", nameof(directory));
        string path = System.IO.Path.Combine(folder, $"mlnetq-model-{Guid.NewGuid():N}.onnx");
        PendingFile.Write(path, stream => stream.Write(model));
        return new ScoringModelFile(path);
    }

    /// <summary>Deletes the file (best effort: on Windows a reader that is still open keeps it).</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // still open elsewhere; the name is unique, so nothing else will use it
        }
        catch (UnauthorizedAccessException)
        {
            // same
        }
    }
}
