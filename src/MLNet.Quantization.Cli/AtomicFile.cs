namespace MLNet.Quantization.Cli;

/// <summary>Writes files through a temporary file and a rename, so a failure never leaves a partial file.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string contents) => Write(path, temp => File.WriteAllText(temp, contents));

    /// <summary>Calls <paramref name="write"/> with a temporary path in the target folder (same extension), then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        OutputPath.Check(path, "output");
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }
}
