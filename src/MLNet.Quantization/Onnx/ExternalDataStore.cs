using System.Globalization;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>Where one tensor's external bytes are: a checked file path, offset and length.</summary>
internal readonly record struct ExternalSegment(string FullPath, long Offset, long Length);

/// <summary>
/// Reads tensors stored in external data files (ONNX's external_data convention: keys location, offset, length;
/// location is relative to the model's folder). Paths that are absolute or leave the folder are rejected, bounds are
/// checked against the file's size, and bytes are read on demand, one tensor at a time.
/// </summary>
internal sealed class ExternalDataStore
{
    private readonly string _modelName;
    private readonly string? _baseDirectory;

    internal ExternalDataStore(string modelName, string? baseDirectory)
    {
        _modelName = modelName;
        _baseDirectory = baseDirectory is null ? null : Path.GetFullPath(baseDirectory);
    }

    /// <summary>Path comparison as the file system does it.</summary>
    internal static StringComparison PathComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// Parses and checks the tensor's external_data entries and returns where its bytes are.
    /// Throws <see cref="OnnxFormatException"/> when an entry is malformed, the path escapes the model's folder,
    /// the file is missing, or offset/length run past its end.
    /// </summary>
    internal ExternalSegment Resolve(TensorProto tensor)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = ParseNonNegative(tensor, "offset", entry.Value);
                    break;
                case "length":
                    length = ParseNonNegative(tensor, "length", entry.Value);
                    break;
                default:
                    // "checksum", "basepath" and unknown keys carry nothing needed to read the bytes; ONNX ignores them too.
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw Fail(tensor, "uses external data but has no 'location' entry");
        }

        var locationError = CheckRelativeLocation(location);
        if (locationError is not null)
        {
            throw Fail(tensor, $"has external data location '{location}', which {locationError}");
        }

        if (_baseDirectory is null)
        {
            throw Fail(tensor, $"uses external data file '{location}', but the model was not loaded from a file and no base directory was given");
        }

        var fullPath = CheckedRealPath(tensor, location);
        var fileLength = new FileInfo(fullPath).Length;
        if (offset > fileLength)
        {
            throw Fail(tensor, $"has external data offset {offset}, past the end of '{location}' ({fileLength} bytes)");
        }

        var available = fileLength - offset;
        var actualLength = length ?? available;
        if (actualLength > available)
        {
            throw Fail(tensor, $"has external data offset {offset} and length {actualLength}, past the end of '{location}' ({fileLength} bytes)");
        }

        return new ExternalSegment(fullPath, offset, actualLength);
    }

    /// <summary>Reads a tensor's external bytes into a new array.</summary>
    internal byte[] Read(TensorProto tensor, ExternalSegment segment)
    {
        if (segment.Length > Array.MaxLength)
        {
            throw Fail(tensor, $"has {segment.Length} bytes of external data, more than the {Array.MaxLength} bytes a .NET array can hold; "
                + "it can be copied when saving with external data but not read into memory");
        }

        var bytes = new byte[segment.Length];
        using var handle = OpenForRead(tensor, segment);
        var done = 0;
        while (done < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(done), segment.Offset + done);
            if (n == 0)
            {
                throw Fail(tensor, $"external data file {segment.FullPath} ended early: it shrank after the model was loaded");
            }

            done += n;
        }

        return bytes;
    }

    /// <summary>Copies a tensor's external bytes to <paramref name="destination"/> in chunks of the buffer's size.</summary>
    internal void CopyTo(TensorProto tensor, ExternalSegment segment, Stream destination, byte[] buffer)
    {
        using var handle = OpenForRead(tensor, segment);
        long done = 0;
        while (done < segment.Length)
        {
            var want = (int)Math.Min(buffer.Length, segment.Length - done);
            var n = RandomAccess.Read(handle, buffer.AsSpan(0, want), segment.Offset + done);
            if (n == 0)
            {
                throw Fail(tensor, $"external data file {segment.FullPath} ended early: it shrank after the model was loaded");
            }

            destination.Write(buffer, 0, n);
            done += n;
        }
    }

    /// <summary>
    /// Checks that an external data location is a relative path that stays inside the model's folder.
    /// Returns null when it does, otherwise the reason (completing "location 'x', which ...").
    /// </summary>
    internal static string? CheckRelativeLocation(string location)
    {
        if (location.Length == 0)
        {
            return "is empty";
        }

        if (location.Contains('\0', StringComparison.Ordinal) || location.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return "contains characters not allowed in a path";
        }

        if (Path.IsPathRooted(location) || location[0] is '/' or '\\' || location.Contains(':', StringComparison.Ordinal))
        {
            return "is absolute; ONNX external data must be relative to the model's folder";
        }

        foreach (var part in location.Split('/', '\\'))
        {
            if (part == "..")
            {
                return "uses '..' to leave the model's folder";
            }
        }

        return null;
    }

    /// <summary>Joins a checked relative location (with / or \ separators) to a folder.</summary>
    internal static string Combine(string baseDirectory, string location)
    {
        var relative = location.Replace('\\', '/').Replace('/', Path.DirectorySeparatorChar);
        var full = Path.GetFullPath(Path.Combine(baseDirectory, relative));
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(baseDirectory)) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, PathComparison))
        {
            // Unreachable after CheckRelativeLocation; kept as a second guard on the resolved path.
            throw new InvalidOperationException($"External data location '{location}' resolves outside {baseDirectory}.");
        }

        return full;
    }

    /// <summary>
    /// Resolves every component of the location through its symbolic links and accepts only a regular file inside the
    /// model's real folder, checked before anything is opened (a FIFO would block in open, a device never end).
    /// </summary>
    private string CheckedRealPath(TensorProto tensor, string location)
    {
        var lexical = Combine(_baseDirectory!, location);
        string real;
        string realFolder;
        try
        {
            realFolder = RealPath.Resolve(_baseDirectory!);
            real = RealPath.Resolve(lexical);
        }
        catch (IOException ex)
        {
            throw Fail(tensor, $"uses external data file '{location}', whose path cannot be resolved: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw Fail(tensor, $"uses external data file '{location}', whose path cannot be resolved: {ex.Message}", ex);
        }

        if (!RealPath.IsInside(real, realFolder))
        {
            throw Fail(tensor, $"has external data location '{location}', which resolves through a symbolic link outside the model's folder");
        }

        return RealPath.KindOf(real) switch
        {
            FileKind.Regular => real,
            FileKind.Missing => throw Fail(tensor, $"uses external data file '{location}', which does not exist (looked for {lexical})"),
            FileKind.Directory => throw Fail(tensor, $"uses external data location '{location}', which is a directory, not a regular file"),
            _ => throw Fail(tensor, $"uses external data location '{location}', which is a device, FIFO or socket, not a regular file"),
        };
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle OpenForRead(TensorProto tensor, ExternalSegment segment)
    {
        try
        {
            return File.OpenHandle(segment.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (FileNotFoundException ex)
        {
            throw Fail(tensor, $"uses external data file {segment.FullPath}, which no longer exists", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw Fail(tensor, $"uses external data file {segment.FullPath}, which no longer exists", ex);
        }
    }

    private long ParseNonNegative(TensorProto tensor, string key, string value)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result))
        {
            throw Fail(tensor, $"has external data {key} '{value}', which is not a non-negative integer");
        }

        return result;
    }

    private OnnxFormatException Fail(TensorProto tensor, string problem, Exception? inner = null) =>
        OnnxFormatException.For(_modelName, $"tensor '{tensor.Name}' {problem}", inner);
}
