using System.Collections.ObjectModel;
using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// An ONNX model as read from a file, stream or bytes. Loading then saving keeps every field, including ones
/// this library does not know, so a round trip gives the same bytes. Loading checks the model's structure and
/// tensor data and throws <see cref="OnnxFormatException"/> when it is malformed. Tensors may live in external data
/// files (ONNX's convention for models over 2 GB); they are read on demand, relative to <see cref="BaseDirectory"/>.
/// </summary>
public sealed class OnnxModel
{
    private const string StreamName = "<stream>";
    private const string BytesName = "<bytes>";

    /// <summary>Google.Protobuf's default recursion limit, which bounds how deep subgraphs can nest in a model we parse.</summary>
    private const int RecursionLimit = 100;

    internal OnnxModel(ModelProto proto, string? sourceName, string? baseDirectory)
        : this(proto, sourceName, baseDirectory, sourceName ?? "<model>")
    {
    }

    private OnnxModel(ModelProto proto, string? sourceName, string? baseDirectory, string displayName)
    {
        Proto = proto;
        SourceName = sourceName;
        BaseDirectory = baseDirectory is null ? null : Path.GetFullPath(baseDirectory);
        DisplayName = displayName;
        ExternalData = new ExternalDataStore(displayName, BaseDirectory);
    }

    /// <summary>The underlying protobuf message.</summary>
    internal ModelProto Proto { get; }

    /// <summary>The file name or caller-given name the model came from, used in error messages.</summary>
    public string? SourceName { get; }

    /// <summary>The folder external-data tensors are resolved against, when the model came from a file or one was given.</summary>
    public string? BaseDirectory { get; }

    /// <summary>The model's IR version (ir_version).</summary>
    public long IrVersion => Proto.IrVersion;

    /// <summary>The tool that produced the model (producer_name), or "" when not set.</summary>
    public string ProducerName => Proto.ProducerName;

    /// <summary>
    /// The operator sets the model imports: domain to version. The default ONNX domain is reported as ""
    /// (whether the file says "" or "ai.onnx").
    /// </summary>
    public IReadOnlyDictionary<string, long> OpsetImports
    {
        get
        {
            var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var opset in Proto.OpsetImport)
            {
                opsets.TryAdd(NormalizeDomain(opset.Domain), opset.Version);
            }

            return new ReadOnlyDictionary<string, long>(opsets);
        }
    }

    /// <summary>The model's metadata_props as key to value, in file order of first appearance.</summary>
    public IReadOnlyDictionary<string, string> MetadataProps
    {
        get
        {
            var props = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in Proto.MetadataProps)
            {
                props.TryAdd(entry.Key, entry.Value);
            }

            return new ReadOnlyDictionary<string, string>(props);
        }
    }

    /// <summary>The model's name in error messages: <see cref="SourceName"/>, or &lt;stream&gt; / &lt;bytes&gt;.</summary>
    internal string DisplayName { get; }

    /// <summary>Reads this model's external data files.</summary>
    internal ExternalDataStore ExternalData { get; }

    /// <summary>True when any tensor of the model keeps its data in an external file.</summary>
    internal bool UsesExternalData => OnnxTensorWalker.AllTensors(Proto).Any(site => TensorLayout.IsExternal(site.Tensor));

    /// <summary>
    /// Loads a model from a file. External data files are resolved relative to the file's folder.
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    /// <returns>The loaded, validated model.</returns>
    /// <exception cref="OnnxFormatException">The file is not a well-formed ONNX model, or its external data is missing or malformed.</exception>
    /// <exception cref="IOException">The file cannot be read (e.g. <see cref="FileNotFoundException"/>).</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var bytes = ReadAll(stream, path);
        return Parse(bytes, path, Path.GetDirectoryName(Path.GetFullPath(path)), path, validate: true);
    }

    /// <summary>Loads a model from a stream, read from its current position to its end. The stream is not closed.</summary>
    /// <param name="stream">The stream holding the model's protobuf bytes.</param>
    /// <param name="sourceName">A name for error messages; &lt;stream&gt; when null.</param>
    /// <param name="baseDirectory">The folder external data files are relative to; needed only if the model uses external data.</param>
    /// <returns>The loaded, validated model.</returns>
    /// <exception cref="OnnxFormatException">The bytes are not a well-formed ONNX model, or its external data is missing or malformed.</exception>
    public static OnnxModel Load(Stream stream, string? sourceName = null, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var displayName = sourceName ?? StreamName;
        var bytes = ReadAll(stream, displayName);
        return Parse(bytes, sourceName, baseDirectory, displayName, validate: true);
    }

    /// <summary>Loads a model from its protobuf bytes.</summary>
    /// <param name="bytes">The model's protobuf bytes.</param>
    /// <param name="sourceName">A name for error messages; &lt;bytes&gt; when null.</param>
    /// <param name="baseDirectory">The folder external data files are relative to; needed only if the model uses external data.</param>
    /// <returns>The loaded, validated model.</returns>
    /// <exception cref="OnnxFormatException">The bytes are not a well-formed ONNX model, or its external data is missing or malformed.</exception>
    public static OnnxModel Load(byte[] bytes, string? sourceName = null, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(bytes, sourceName, baseDirectory, sourceName ?? BytesName, validate: true);
    }

    /// <summary>
    /// Saves the model to a file atomically: it is written to a temporary file in the same folder, then renamed over
    /// <paramref name="path"/>; on failure the temporary file is deleted and an existing file is left untouched.
    /// With <see cref="OnnxSaveOptions.UseExternalData"/>, large initializers go to an external data file next to it
    /// (written the same way); tensors that are external in this model are copied over in chunks.
    /// </summary>
    /// <param name="path">The destination .onnx file. Its folder must exist.</param>
    /// <param name="options">How to write it; null for the defaults (everything in one file).</param>
    /// <exception cref="OnnxFormatException">The model would exceed the 2 GB protobuf limit without external data, or its external data cannot be read.</exception>
    /// <exception cref="IOException">The file cannot be written (e.g. <see cref="DirectoryNotFoundException"/>).</exception>
    public void Save(string path, OnnxSaveOptions? options = null) => new OnnxModelWriter(this, options).SaveToFile(path);

    /// <summary>
    /// Writes the model's protobuf to a stream, self-contained: tensors that are external in this model are read
    /// back in. The model is serialized first and written in one call, so a failure before that call (e.g. unreadable
    /// external data) leaves the stream untouched. The stream is not closed.
    /// </summary>
    /// <param name="stream">The destination stream.</param>
    /// <exception cref="OnnxFormatException">The model would exceed the 2 GB protobuf limit, or its external data cannot be read.</exception>
    public void Save(Stream stream) => new OnnxModelWriter(this, null).SaveToStream(stream);

    /// <summary>Serializes the model, self-contained: tensors that are external in this model are read back in.</summary>
    /// <returns>The model's protobuf bytes.</returns>
    /// <exception cref="OnnxFormatException">The model would exceed the 2 GB protobuf limit, or its external data cannot be read.</exception>
    public byte[] ToBytes() => new OnnxModelWriter(this, null).ToBytes();

    /// <summary>
    /// A tensor's data in ONNX's raw layout (fixed width, little-endian, 4- and 2-bit types packed), from raw_data,
    /// from the external data file (read now, only that tensor's segment), or converted from the typed fields.
    /// Checks that the byte count matches the dims and data_type.
    /// </summary>
    /// <exception cref="OnnxFormatException">The data does not match the dims, the external data cannot be read, or
    /// the tensor is larger than a .NET array can hold.</exception>
    /// <exception cref="InvalidOperationException">The tensor is a STRING tensor, which has no raw form.</exception>
    internal ReadOnlyMemory<byte> GetRawData(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var dataType = tensor.DataType;
        if (dataType == TensorLayout.String)
        {
            throw new InvalidOperationException($"{DisplayName}: tensor '{tensor.Name}' is a STRING tensor, which has no raw byte form.");
        }

        if (!TensorLayout.IsKnown(dataType))
        {
            throw OnnxFormatException.For(DisplayName, $"tensor '{tensor.Name}' has unknown data_type {dataType}");
        }

        var count = TensorLayout.TryGetElementCount(tensor.Dims, out var dimsError)
            ?? throw OnnxFormatException.For(DisplayName, $"tensor '{tensor.Name}' {dimsError}");
        var needed = TensorLayout.RawByteCount(dataType, count);

        long actual;
        ReadOnlyMemory<byte> data = default;
        ExternalSegment? segment = null;
        if (TensorLayout.IsExternal(tensor))
        {
            segment = ExternalData.Resolve(tensor);
            actual = segment.Value.Length;
        }
        else if (tensor.HasRawData)
        {
            data = tensor.RawData.Memory;
            actual = data.Length;
        }
        else
        {
            var field = TensorLayout.FieldFor(dataType);
            var fields = TensorLayout.NonEmptyTypedFields(tensor);
            if (fields.Count > 1 || (fields.Count == 1 && fields[0] != field))
            {
                throw OnnxFormatException.For(DisplayName, $"tensor '{tensor.Name}' is {TensorLayout.Name(dataType)} but has data in {TensorLayout.Name(fields[0])}");
            }

            var values = TensorLayout.Count(tensor, field);
            if (values != TensorLayout.TypedValueCount(dataType, count))
            {
                throw OnnxFormatException.For(DisplayName, $"tensor '{tensor.Name}' has {values} values in {TensorLayout.Name(field)}, but dims {TensorLayout.FormatDims(tensor.Dims)} need {TensorLayout.FormatCount(TensorLayout.TypedValueCount(dataType, count))}");
            }

            return TensorLayout.TypedFieldsToRaw(tensor, DisplayName);
        }

        if (actual != needed)
        {
            throw OnnxFormatException.For(DisplayName, $"tensor '{tensor.Name}' has {actual} bytes of data, but dims {TensorLayout.FormatDims(tensor.Dims)} of {TensorLayout.Name(dataType)} need {TensorLayout.FormatCount(needed)}");
        }

        return segment is { } s ? ExternalData.Read(tensor, s) : data;
    }

    /// <summary>
    /// Parses protobuf bytes into a model. With <paramref name="validate"/> false only the protobuf is parsed (for
    /// callers that check the model themselves); parse failures still become <see cref="OnnxFormatException"/>.
    /// </summary>
    internal static OnnxModel Parse(byte[] bytes, string? sourceName, string? baseDirectory, string displayName, bool validate)
    {
        if (bytes.Length == 0)
        {
            throw OnnxFormatException.For(displayName, "is empty; an ONNX model cannot have zero bytes");
        }

        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex) when (ex.Message.Contains("levels of nesting", StringComparison.Ordinal))
        {
            throw OnnxFormatException.For(displayName, $"nests messages deeper than protobuf's limit of {RecursionLimit} levels of nesting (subgraphs inside subgraphs about 30 deep); no real model nests that deep", ex);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw OnnxFormatException.For(displayName, $"is not a valid ONNX protobuf ({ex.Message})", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The parser is fed untrusted bytes; whatever it throws on them (e.g. invalid UTF-8 in a string field)
            // is a format problem of the input.
            throw OnnxFormatException.For(displayName, $"is not a valid ONNX protobuf ({ex.GetType().Name}: {ex.Message})", ex);
        }

        var model = new OnnxModel(proto, sourceName, baseDirectory, displayName);
        if (validate)
        {
            new OnnxModelValidator(proto, displayName, model.ExternalData).Validate();
        }

        return model;
    }

    /// <summary>Maps the default ONNX domain's two spellings ("" and "ai.onnx") to "".</summary>
    internal static string NormalizeDomain(string domain) => domain == "ai.onnx" ? string.Empty : domain;

    private static byte[] ReadAll(Stream stream, string displayName)
    {
        if (stream.CanSeek)
        {
            var remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength)
            {
                throw TooLarge(displayName, remaining);
            }

            var bytes = new byte[Math.Max(0, remaining)];
            stream.ReadExactly(bytes);
            return bytes;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > Array.MaxLength)
            {
                throw TooLarge(displayName, buffer.Length + n);
            }

            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    private static OnnxFormatException TooLarge(string displayName, long size) =>
        OnnxFormatException.For(displayName, $"is {size} bytes, over the 2 GB protobuf limit; a model this large must keep its weights in external data files");
}
