using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Cli;

/// <summary>
/// Checks an output path before any work starts: its folder must exist, and anything already at the path must be a
/// regular file (not a folder, a symbolic link, a device or a FIFO), so that a long run never ends writing nowhere.
/// </summary>
internal static class OutputPath
{
    /// <summary>Throws <see cref="CliException"/> naming <paramref name="option"/> when <paramref name="path"/> cannot be written; null is allowed.</summary>
    public static void Check(string? path, string option)
    {
        if (path is null)
            return;
        if (path.Length == 0)
            throw new CliException($"{option}: give a file path");
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? full;
        if (!Directory.Exists(dir))
            throw new CliException($"{option}: folder '{dir}' does not exist");
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
            throw new CliException($"{option}: '{path}' is a symbolic link; give the path of a regular file");
        switch (RealPath.KindOf(full))
        {
            case FileKind.Directory:
                throw new CliException($"{option}: '{path}' is a folder; give a file path");
            case FileKind.Special:
                throw new CliException($"{option}: '{path}' is a device, FIFO or socket, not a regular file");
        }
    }
}
