using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// An ONNX model as read from a file, stream or bytes. Loading then saving keeps every field, including ones this
/// library does not know, so an unedited model re-serializes to the same bytes. Tensors stored as external data
/// (ONNX's &gt;2 GB layout) are read on demand from their file, relative to the model's folder.
/// </summary>
public sealed class OnnxModel
{
    private const string StreamSource = "<stream>";
    private const string BytesSource = "<bytes>";

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

    /// <summary>The ONNX IR version.</summary>
    public long IrVersion => Proto.IrVersion;

    /// <summary>The producer's name, e.g. <c>pytorch</c>.</summary>
    public string ProducerName => Proto.ProducerName;

    /// <summary>Opset version per domain; the default ONNX domain is <c>""</c>.</summary>
    public IReadOnlyDictionary<string, long> OpsetImports =>
        Proto.OpsetImport.GroupBy(o => o.Domain).ToDictionary(g => g.Key, g => g.Last().Version);

    /// <summary>The model's metadata key/value pairs.</summary>
    public IReadOnlyDictionary<string, string> MetadataProps =>
        Proto.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Loads and validates a model from a file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="OnnxFormatException">The file is not a well-formed ONNX model.</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new OnnxFormatException(path, $"cannot be read: {e.Message}", e);
        }

        return Parse(bytes, path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Loads and validates a model from a stream (read to its end). External data, if any, cannot be resolved.</summary>
    public static OnnxModel Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        try
        {
            stream.CopyTo(buffer);
        }
        catch (IOException e)
        {
            throw new OnnxFormatException(sourceName ?? StreamSource, $"cannot be read: {e.Message}", e);
        }

        return Parse(buffer.ToArray(), sourceName ?? StreamSource, null);
    }

    /// <summary>Loads and validates a model from bytes.</summary>
    public static OnnxModel Load(byte[] bytes, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(bytes, sourceName ?? BytesSource, null);
    }

    private static OnnxModel Parse(byte[] bytes, string source, string? baseDirectory)
    {
        if (bytes.Length == 0)
            throw new OnnxFormatException(source, "is empty.");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(source, $"is not a valid ONNX protobuf ({e.Message}).", e);
        }

        OnnxModelValidator.Validate(proto, source, baseDirectory);
        return new OnnxModel(proto, source, baseDirectory);
    }

    /// <summary>Serializes the model. Tensors held as external data stay external (their references are kept).</summary>
    public byte[] ToBytes()
    {
        CheckSerializable(Proto);
        return Proto.ToByteArray();
    }

    /// <summary>Writes the model to a stream. External-data tensors are written inline.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var proto = HasExternalTensors(Proto) ? InlineCopy() : Proto;
        CheckSerializable(proto);
        proto.WriteTo(stream);
    }

    /// <summary>
    /// Writes the model to a file atomically: it goes to a temporary file in the same folder, then is renamed over
    /// the destination, so a failure never leaves a partial file.
    /// </summary>
    public void Save(string path, OnnxSaveOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot save '{path}': folder '{directory}' does not exist.");

        var temps = new List<(string Temp, string Final)>();
        try
        {
            ModelProto proto;
            if (options?.UseExternalData == true)
            {
                string dataName = options.ExternalDataFileName ?? Path.GetFileName(fullPath) + ".data";
                if (Path.IsPathRooted(dataName) || dataName.Contains('/') || dataName.Contains('\\'))
                    throw new ArgumentException($"External data file name '{dataName}' must be a plain file name.", nameof(options));
                string dataPath = Path.Combine(directory, dataName);
                string dataTemp = TempPath(dataPath);
                temps.Add((dataTemp, dataPath));
                proto = WriteExternal(dataTemp, dataName, options.SizeThreshold);
            }
            else
            {
                proto = HasExternalTensors(Proto) && !SameDirectory(directory) ? InlineCopy() : Proto;
            }

            CheckSerializable(proto);
            string modelTemp = TempPath(fullPath);
            temps.Add((modelTemp, fullPath));
            using (var file = new FileStream(modelTemp, FileMode.CreateNew, FileAccess.Write))
            {
                proto.WriteTo(file);
                file.Flush(flushToDisk: true);
            }

            foreach (var (temp, final) in temps)
                File.Move(temp, final, overwrite: true);
            temps.Clear();
        }
        finally
        {
            foreach (var (temp, _) in temps)
            {
                try
                {
                    File.Delete(temp);
                }
                catch (IOException)
                {
                    // best effort: the temp file may never have been created
                }
            }
        }
    }

    /// <summary>
    /// A tensor's raw little-endian bytes, whether held inline (raw_data or typed fields) or as external data.
    /// </summary>
    internal ReadOnlyMemory<byte> GetRawData(TensorProto tensor)
    {
        string source = SourceName ?? BytesSource;
        if (ExternalDataReference.IsExternal(tensor))
        {
            var ext = ExternalDataReference.Parse(tensor, source);
            string path = ext.Resolve(BaseDirectory, source, tensor.Name);
            long count = TensorLayout.ElementCount(tensor.Dims) ?? throw new OnnxFormatException(source, $"tensor '{tensor.Name}' has invalid dims.");
            long length = ext.Length ?? TensorLayout.RawByteLength(tensor.DataType, count)
                ?? throw new OnnxFormatException(source, $"tensor '{tensor.Name}' has a type that cannot be stored externally.");
            if (length > Array.MaxLength)
                throw new OnnxFormatException(source, $"tensor '{tensor.Name}' holds {length} bytes, more than one .NET array can; stream it instead.");
            if (!File.Exists(path))
                throw new OnnxFormatException(source, $"tensor '{tensor.Name}' reads external data file '{ext.Location}', which does not exist.");
            var data = new byte[length];
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (ext.Offset + length > file.Length)
                throw new OnnxFormatException(source, $"tensor '{tensor.Name}' reads past the end of '{ext.Location}'.");
            file.Position = ext.Offset;
            file.ReadExactly(data);
            return data;
        }

        return tensor.HasRawData ? tensor.RawData.Memory : TensorBytes.FromTypedFields(tensor);
    }

    private bool SameDirectory(string directory) =>
        BaseDirectory is not null && string.Equals(Path.GetFullPath(BaseDirectory).TrimEnd('/'), directory.TrimEnd('/'), StringComparison.Ordinal);

    private static string TempPath(string finalPath) =>
        Path.Combine(Path.GetDirectoryName(finalPath)!, $".{Path.GetFileName(finalPath)}.{Guid.NewGuid():N}.tmp");

    private static IEnumerable<TensorProto> Initializers(ModelProto proto) =>
        proto.Graph?.Initializer ?? Enumerable.Empty<TensorProto>();

    private static bool HasExternalTensors(ModelProto proto) => Initializers(proto).Any(ExternalDataReference.IsExternal);

    /// <summary>A copy in which every external initializer is inline raw_data.</summary>
    private ModelProto InlineCopy()
    {
        var copy = Proto.Clone();
        foreach (var t in copy.Graph.Initializer.Where(ExternalDataReference.IsExternal))
        {
            var bytes = GetRawData(t);
            t.ExternalData.Clear();
            t.ClearDataLocation();
            t.RawData = ByteString.CopyFrom(bytes.Span);
        }

        return copy;
    }

    /// <summary>A copy whose large initializers live in <paramref name="dataTemp"/> (referenced as <paramref name="dataName"/>).</summary>
    private ModelProto WriteExternal(string dataTemp, string dataName, long threshold)
    {
        var copy = Proto.Clone();
        using var data = new FileStream(dataTemp, FileMode.CreateNew, FileAccess.Write);
        var buffer = new byte[1 << 20];
        foreach (var t in copy.Graph.Initializer)
        {
            long count = TensorLayout.ElementCount(t.Dims) ?? 0;
            long? size = TensorLayout.RawByteLength(t.DataType, count);
            if (size is null || size < threshold || t.DataType == (int)TensorProto.Types.DataType.String)
            {
                if (ExternalDataReference.IsExternal(t))
                    Inline(t);
                continue;
            }

            // Align each tensor to 64 bytes, as ONNX's own external-data writer may, for memory mapping.
            long offset = (data.Position + 63) / 64 * 64;
            data.SetLength(Math.Max(data.Length, offset));
            data.Position = offset;
            if (ExternalDataReference.IsExternal(t))
                CopyExternal(t, data, buffer);
            else
                data.Write(t.HasRawData ? t.RawData.Span : TensorBytes.FromTypedFields(t));

            t.ClearRawData();
            t.FloatData.Clear();
            t.Int32Data.Clear();
            t.Int64Data.Clear();
            t.DoubleData.Clear();
            t.Uint64Data.Clear();
            t.ExternalData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = size.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        data.Flush(flushToDisk: true);
        return copy;

        void Inline(TensorProto t)
        {
            var bytes = GetRawData(t);
            t.ExternalData.Clear();
            t.ClearDataLocation();
            t.RawData = ByteString.CopyFrom(bytes.Span);
        }
    }

    /// <summary>Streams an external tensor's bytes from its source file into <paramref name="destination"/> in chunks.</summary>
    private void CopyExternal(TensorProto t, Stream destination, byte[] buffer)
    {
        string source = SourceName ?? BytesSource;
        var ext = ExternalDataReference.Parse(t, source);
        string path = ext.Resolve(BaseDirectory, source, t.Name);
        long length = ext.Length ?? TensorLayout.RawByteLength(t.DataType, TensorLayout.ElementCount(t.Dims) ?? 0) ?? 0;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        file.Position = ext.Offset;
        long left = length;
        while (left > 0)
        {
            int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0)
                throw new OnnxFormatException(source, $"tensor '{t.Name}' reads past the end of '{ext.Location}'.");
            destination.Write(buffer, 0, n);
            left -= n;
        }
    }

    private void CheckSerializable(ModelProto proto)
    {
        long inline = 0;
        foreach (var t in Initializers(proto))
            inline += t.RawData.Length + t.FloatData.Count * 4L + t.Int64Data.Count * 8L + t.DoubleData.Count * 8L + t.Int32Data.Count * 4L;
        if (inline >= int.MaxValue - (64L << 20))
        {
            throw new InvalidOperationException(
                $"Model '{SourceName ?? "(in memory)"}' holds {inline} bytes of inline tensor data, over protobuf's 2 GB limit; save it with OnnxSaveOptions.UseExternalData = true.");
        }
    }
}
