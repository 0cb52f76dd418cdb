using System.Collections.Concurrent;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// A file written atomically: bytes go to a temporary file in the destination's folder, and <see cref="Commit"/>
/// flushes it to disk and renames it over the destination. Disposing without committing deletes the temporary file,
/// so a failed write never leaves a partial file and never touches an existing destination.
/// </summary>
internal sealed class PendingFile : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Live = new(StringComparer.Ordinal);
    private readonly FileStream _stream;
    private bool _done;

    private PendingFile(string destinationPath, string temporaryPath, FileStream stream)
    {
        DestinationPath = destinationPath;
        TemporaryPath = temporaryPath;
        _stream = stream;
    }

    /// <summary>The full path the file gets on commit.</summary>
    internal string DestinationPath { get; }

    /// <summary>The full path of the temporary file being written.</summary>
    internal string TemporaryPath { get; }

    /// <summary>The stream to write the content to.</summary>
    internal Stream Stream => _stream;

    /// <summary>
    /// Creates the temporary file next to <paramref name="destinationPath"/>. Throws the usual IO exceptions, e.g.
    /// <see cref="DirectoryNotFoundException"/> when the folder does not exist.
    /// </summary>
    internal static PendingFile Create(string destinationPath)
    {
        var full = Path.GetFullPath(destinationPath);
        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{destinationPath}' has no folder.", nameof(destinationPath));
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        Live[temporary] = 0;
        return new PendingFile(full, temporary, stream);
    }

    /// <summary>Writes a file atomically with <paramref name="write"/>: all of it, or nothing at all.</summary>
    internal static void Write(string destinationPath, Action<Stream> write)
    {
        using var file = Create(destinationPath);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>Flushes the content to disk and renames the temporary file over the destination.</summary>
    internal void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(TemporaryPath, DestinationPath, overwrite: true);
        Live.TryRemove(TemporaryPath, out _);
        _done = true;
    }

    /// <summary>
    /// Deletes the temporary file of every pending file not yet committed or disposed, for a process about to end on a
    /// signal (SIGINT/SIGTERM), where no dispose runs. Writers still running then fail to commit; nothing is left behind.
    /// </summary>
    internal static void DeleteAllPending()
    {
        foreach (var path in Live.Keys)
        {
            TryDelete(path);
            Live.TryRemove(path, out _);
        }
    }

    /// <summary>Deletes the temporary file unless it was committed.</summary>
    public void Dispose()
    {
        if (_done)
        {
            return;
        }

        _done = true;
        try
        {
            _stream.Dispose();
        }
        catch (IOException)
        {
            // A failed final flush of a file being thrown away does not matter.
        }

        TryDelete(TemporaryPath);
        Live.TryRemove(TemporaryPath, out _);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary file has a name no one else uses.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
