using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Onnx;

/// <summary>Where an external-data tensor's bytes live: ONNX's <c>location</c>, <c>offset</c> and <c>length</c> keys.</summary>
internal sealed record ExternalDataReference(string Location, long Offset, long? Length)
{
    /// <summary>True when the tensor's data_location is EXTERNAL.</summary>
    public static bool IsExternal(TensorProto t) => t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>Parses the external_data entries; the error text is null on success.</summary>
    public static ExternalDataReference Parse(TensorProto t, string source)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in t.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    if (!long.TryParse(entry.Value, out offset) || offset < 0)
                        throw new OnnxFormatException(source, $"tensor '{t.Name}' has an invalid external data offset '{entry.Value}'.");
                    break;
                case "length":
                    if (!long.TryParse(entry.Value, out long l) || l < 0)
                        throw new OnnxFormatException(source, $"tensor '{t.Name}' has an invalid external data length '{entry.Value}'.");
                    length = l;
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
            throw new OnnxFormatException(source, $"tensor '{t.Name}' is marked external but has no 'location'.");
        if (Path.IsPathRooted(location) || location.Split('/', '\\').Any(p => p == ".."))
            throw new OnnxFormatException(source, $"tensor '{t.Name}' has external location '{location}', which leaves the model's folder.");
        return new ExternalDataReference(location, offset, length);
    }

    /// <summary>The full path of the data file under <paramref name="baseDirectory"/>.</summary>
    public string Resolve(string? baseDirectory, string source, string tensorName)
    {
        if (baseDirectory is null)
            throw new OnnxFormatException(source, $"tensor '{tensorName}' uses external data '{Location}', but the model was not loaded from a file, so there is no folder to find it in.");
        return Path.Combine(baseDirectory, Location);
    }
}
