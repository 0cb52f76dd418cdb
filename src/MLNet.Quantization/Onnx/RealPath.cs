using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace MLNet.Quantization.Onnx;

/// <summary>What a resolved path names, as far as reading data from it is concerned.</summary>
internal enum FileKind
{
    /// <summary>Nothing exists at the path.</summary>
    Missing,

    /// <summary>A regular file: safe to open and read.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A FIFO, socket, character or block device: opening it may block or never end.</summary>
    Special,
}

/// <summary>
/// realpath semantics in managed code: every component of a path is resolved through its symbolic links, so the
/// result names the object the operating system would open, and the kind of that object is found without opening it.
/// </summary>
internal static partial class RealPath
{
    private const int MaxLinkHops = 40;

    /// <summary>
    /// Returns the absolute path with every symbolic link in every component replaced by its final target.
    /// Components that do not exist are appended unchanged. Throws <see cref="IOException"/> on a link cycle.
    /// </summary>
    internal static string Resolve(string path)
    {
        var hops = 0;
        return Resolve(Path.GetFullPath(path), ref hops);
    }

    /// <summary>Whether <paramref name="path"/> lies strictly inside <paramref name="folder"/> (both already resolved).</summary>
    internal static bool IsInside(string path, string folder)
    {
        var root = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        return path.StartsWith(root, ExternalDataStore.PathComparison);
    }

    /// <summary>The kind of object at an already resolved path, found with stat (never open).</summary>
    internal static FileKind KindOf(string resolvedPath)
    {
        if (OperatingSystem.IsWindows())
        {
            var info = new FileInfo(resolvedPath);
            if (!info.Exists)
            {
                return Directory.Exists(resolvedPath) ? FileKind.Directory : FileKind.Missing;
            }

            return (info.Attributes & (FileAttributes.ReparsePoint | FileAttributes.Device)) != 0 ? FileKind.Special : FileKind.Regular;
        }

        // System.Native's FileStatus: int Flags, int Mode, ... (the runtime's own stat shim, present in every .NET process).
        var status = new byte[256];
        if (SystemNativeStat(resolvedPath, status) != 0)
        {
            return FileKind.Missing;
        }

        var mode = BitConverter.ToInt32(status, 4) & 0xF000;
        return mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Special,
        };
    }

    private static string Resolve(string full, ref int hops)
    {
        var root = Path.GetPathRoot(full) ?? string.Empty;
        var current = root;
        var parts = full[root.Length..].Split(
            new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var candidate = Path.Combine(current, parts[i]);
            var info = new FileInfo(candidate);
            if (info.LinkTarget is null)
            {
                current = candidate;
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new IOException($"Too many levels of symbolic links resolving {full}.");
            }

            var target = info.ResolveLinkTarget(returnFinalTarget: true)
                ?? throw new IOException($"Cannot resolve symbolic link {candidate}.");

            // The target's own folders may be links too: resolve it in full, then continue below it.
            current = Resolve(Path.GetFullPath(target.FullName), ref hops);
        }

        return current;
    }

    // Every string is marshaled as UTF-8 (LPUTF8Str); CA2101 knows only LPStr/LPWStr (dotnet/roslyn-analyzers#7502).
    [SuppressMessage("Interoperability", "CA2101:Specify marshaling for P/Invoke string arguments", Justification = "UTF-8 is explicit")]
    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SystemNativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] status);
}
