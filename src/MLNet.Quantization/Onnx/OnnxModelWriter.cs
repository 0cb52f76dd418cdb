using System.Globalization;
using Google.Protobuf;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>
/// Writes an <see cref="OnnxModel"/>: to a file atomically (optionally moving large initializers to an external data
/// file), or self-contained to a stream or byte array. Works on a clone of the model's protobuf so the model itself is
/// never changed, except when a save overwrites an external data file the model reads from (then the model's tensors
/// are re-pointed to the new file). Checks the 2 GB protobuf limit before writing anything.
/// </summary>
internal sealed class OnnxModelWriter
{
    // Upper bound of the protobuf bytes a tensor's payload adds beyond the payload itself, when it is put back into a
    // skeleton whose raw_data was emptied: longer length prefixes of the tensor and of each enclosing message.
    private const long PerTensorOverhead = 64;

    // Offsets of tensors over AlignLargeThreshold are page aligned, as the ONNX spec recommends for mmap; others are
    // aligned to SmallAlignment bytes.
    private const long AlignLargeThreshold = 1 << 20;
    private const long LargeAlignment = 4096;
    private const long SmallAlignment = 64;

    private readonly OnnxModel _model;
    private readonly OnnxSaveOptions _options;

    internal OnnxModelWriter(OnnxModel model, OnnxSaveOptions? options)
    {
        _model = model;
        _options = options ?? new OnnxSaveOptions();
    }

    /// <summary>Saves to a file atomically, with external data if the options ask for it.</summary>
    internal void SaveToFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        string? dataLocation = null;
        string? dataPath = null;
        if (_options.UseExternalData)
        {
            dataLocation = _options.ExternalDataFileName ?? Path.GetFileName(fullPath) + ".data";
            var error = ExternalDataStore.CheckRelativeLocation(dataLocation);
            if (error is not null)
            {
                throw new ArgumentException($"External data file name '{dataLocation}' {error}.", nameof(path));
            }

            dataPath = ExternalDataStore.Combine(folder, dataLocation);
            if (string.Equals(dataPath, fullPath, ExternalDataStore.PathComparison))
            {
                throw new ArgumentException($"The external data file cannot be the model file itself ({fullPath}).", nameof(path));
            }
        }

        var plan = Plan(dataLocation is not null, fullPath);
        using var dataFile = plan.HasExternalOutput ? PendingFile.Create(dataPath!) : null;
        if (dataFile is not null)
        {
            WriteExternalData(plan, dataFile.Stream, dataLocation!);
        }

        FillInline(plan);
        using var modelFile = PendingFile.Create(fullPath);
        plan.Output.WriteTo(modelFile.Stream);
        dataFile?.Commit();
        modelFile.Commit();
        if (dataFile is not null)
        {
            RepointOverwrittenTensors(plan, dataFile.DestinationPath);
        }
    }

    /// <summary>Writes the model, self-contained (external tensors read back in), to a stream.</summary>
    internal void SaveToStream(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        // Serialized first, so that a failure while reading external data or serializing leaves the stream untouched.
        stream.Write(ToBytes());
    }

    /// <summary>The model's protobuf, self-contained (external tensors read back in).</summary>
    internal byte[] ToBytes()
    {
        var plan = Plan(useExternalData: false, destination: null);
        FillInline(plan);
        return plan.Output.ToByteArray();
    }

    /// <summary>
    /// Clones the model and decides, tensor by tensor, where its bytes go. Raw payloads are taken out of the clone
    /// while its size is measured, so the size check works in 64 bits even past 2 GB.
    /// </summary>
    private SavePlan Plan(bool useExternalData, string? destination)
    {
        var output = _model.Proto.Clone();
        var originals = OnnxTensorWalker.AllTensors(_model.Proto).ToList();
        var copies = OnnxTensorWalker.AllTensors(output).ToList();
        var entries = new List<PlannedTensor>();
        for (var i = 0; i < originals.Count; i++)
        {
            var original = originals[i].Tensor;
            var copy = copies[i].Tensor;
            ExternalSegment? source = null;
            long size;
            if (TensorLayout.IsExternal(original))
            {
                source = _model.ExternalData.Resolve(original);
                size = source.Value.Length;
            }
            else if (original.HasRawData)
            {
                size = original.RawData.Length;
            }
            else
            {
                continue; // typed fields or no data: stays as it is
            }

            var toExternal = useExternalData && originals[i].IsInitializer
                && original.DataType != TensorLayout.String && size >= _options.SizeThreshold;
            entries.Add(new PlannedTensor(original, copy, source, size, toExternal));

            // Empty the payload in the clone; it is written or put back later. Other fields of inline tensors
            // (an explicit DEFAULT data_location, for one) stay as they are, so that a plain save is byte-identical.
            copy.ClearRawData();
            if (source is not null || toExternal)
            {
                copy.ExternalData.Clear();
                copy.ClearDataLocation();
            }
        }

        long estimate = output.CalculateSize();
        if (estimate < 0)
        {
            estimate = long.MaxValue; // the skeleton alone overflowed protobuf's int sizes
        }

        foreach (var entry in entries)
        {
            estimate = entry.ToExternal
                ? SaturatingAdd(estimate, PerTensorOverhead)
                : SaturatingAdd(estimate, SaturatingAdd(entry.Size, PerTensorOverhead));
        }

        if (estimate > _options.MaxProtobufBytes)
        {
            var advice = destination is null
                ? "save it to a file with new OnnxSaveOptions { UseExternalData = true } instead"
                : "save it with new OnnxSaveOptions { UseExternalData = true } so that large initializers go to an external data file";
            var limit = _options.MaxProtobufBytes.ToString("N0", CultureInfo.InvariantCulture);
            var size = estimate == long.MaxValue ? "more than 2 GB" : $"about {estimate.ToString("N0", CultureInfo.InvariantCulture)} bytes";
            throw OnnxFormatException.For(
                _model.DisplayName,
                $"the model would serialize to {size}, over the protobuf limit of {limit} bytes; {advice}"
                + (destination is null ? string.Empty : $" (saving to {destination})"));
        }

        return new SavePlan(output, entries);
    }

    /// <summary>Writes every tensor going external to the data stream and points the clone's tensors at it.</summary>
    private void WriteExternalData(SavePlan plan, Stream data, string location)
    {
        var buffer = new byte[Math.Max(1, _options.CopyBufferSize)];
        long position = 0;
        foreach (var entry in plan.Entries)
        {
            if (!entry.ToExternal)
            {
                continue;
            }

            var alignment = entry.Size > AlignLargeThreshold ? LargeAlignment : SmallAlignment;
            var padding = (alignment - position % alignment) % alignment;
            WriteZeros(data, padding, buffer);
            position += padding;

            if (entry.Source is { } segment)
            {
                _model.ExternalData.CopyTo(entry.Original, segment, data, buffer);
            }
            else
            {
                data.Write(entry.Original.RawData.Span);
            }

            var copy = entry.Copy;
            copy.DataLocation = TensorProto.Types.DataLocation.External;
            copy.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            copy.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = position.ToString(CultureInfo.InvariantCulture) });
            copy.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = entry.Size.ToString(CultureInfo.InvariantCulture) });
            position += entry.Size;
        }
    }

    /// <summary>Puts the payload of every tensor staying inline back into the clone, reading external ones.</summary>
    private void FillInline(SavePlan plan)
    {
        foreach (var entry in plan.Entries)
        {
            if (entry.ToExternal)
            {
                continue;
            }

            entry.Copy.RawData = entry.Source is { } segment
                ? UnsafeByteOperations.UnsafeWrap(_model.ExternalData.Read(entry.Original, segment))
                : entry.Original.RawData;
        }
    }

    /// <summary>
    /// After a save replaced an external data file this model reads from, points the model's tensors at their
    /// place in the new file (or gives them the inline bytes the saved model has), so the model stays readable.
    /// </summary>
    private void RepointOverwrittenTensors(SavePlan plan, string overwrittenPath)
    {
        // Sources are real paths (links resolved); compare against the real path of the file just replaced.
        var realOverwritten = RealPath.Resolve(overwrittenPath);
        foreach (var entry in plan.Entries)
        {
            if (entry.Source is not { } segment || !string.Equals(segment.FullPath, realOverwritten, ExternalDataStore.PathComparison))
            {
                continue;
            }

            var original = entry.Original;
            original.ExternalData.Clear();
            if (entry.ToExternal)
            {
                var location = Path.GetRelativePath(_model.BaseDirectory!, overwrittenPath).Replace('\\', '/');
                foreach (var item in entry.Copy.ExternalData)
                {
                    original.ExternalData.Add(item.Key == "location" ? new StringStringEntryProto { Key = "location", Value = location } : item.Clone());
                }
            }
            else
            {
                original.ClearDataLocation();
                original.RawData = entry.Copy.RawData;
            }
        }
    }

    private static void WriteZeros(Stream stream, long count, byte[] buffer)
    {
        if (count == 0)
        {
            return;
        }

        Array.Clear(buffer, 0, (int)Math.Min(buffer.Length, count));
        while (count > 0)
        {
            var n = (int)Math.Min(buffer.Length, count);
            stream.Write(buffer, 0, n);
            count -= n;
        }
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private sealed record PlannedTensor(TensorProto Original, TensorProto Copy, ExternalSegment? Source, long Size, bool ToExternal);

    private sealed record SavePlan(ModelProto Output, List<PlannedTensor> Entries)
    {
        internal bool HasExternalOutput => Entries.Exists(e => e.ToExternal);
    }
}
