using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization;

/// <summary>
/// Records in a converted model how its float reference was prepared (metadata key
/// <see cref="Key"/>, e.g. <c>fold_constants=true;fold_batchnorm=true</c>, with <c>;max_folded_bytes=N</c> when that limit was set, and
/// <c>;cross_layer_equalization=true</c> when the weights were equalized). Every QuantizeLinear the
/// <see cref="QdqWriter"/> emits reads a tensor of that prepared float graph under its own name, so the numeric suite
/// rebuilds the graph from the float model with these options and matches tensors by name.
/// </summary>
internal static class FloatReferenceMetadata
{
    public const string Key = "mlnet_quantization.float_reference";

    public static void Write(OnnxModel model, PrepareOptions options)
    {
        var props = model.Proto.MetadataProps;
        foreach (var old in props.Where(p => p.Key == Key).ToList())
            props.Remove(old);
        props.Add(new StringStringEntryProto
        {
            Key = Key,
            Value = $"fold_constants={Flag(options.FoldConstants)};fold_batchnorm={Flag(options.FoldBatchNorm)}"
                + (options.MaxFoldedTensorBytes is { } max ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $";max_folded_bytes={max}") : "")
                + (options.CrossLayerEqualization ? ";cross_layer_equalization=true" : ""),
        });
    }

    /// <summary>The prepare options recorded in <paramref name="model"/>, or <c>null</c> when it was not written by this library.</summary>
    /// <exception cref="InvalidDataException">The entry exists but is malformed.</exception>
    public static PrepareOptions? Read(OnnxModel model)
    {
        if (!model.MetadataProps.TryGetValue(Key, out var value))
            return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = field.Split('=', 2);
            fields[pair[0]] = pair.Length == 2 ? pair[1] : "";
        }

        return new PrepareOptions
        {
            FoldConstants = Parse(fields, "fold_constants", value),
            FoldBatchNorm = Parse(fields, "fold_batchnorm", value),
            MaxFoldedTensorBytes = fields.TryGetValue("max_folded_bytes", out var max)
                ? long.TryParse(max, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long bytes) && bytes > 0
                    ? bytes
                    : throw new InvalidDataException($"Model metadata '{Key}' = '{value}' has an invalid 'max_folded_bytes={max}'.")
                : null,
            CrossLayerEqualization = fields.ContainsKey("cross_layer_equalization") && Parse(fields, "cross_layer_equalization", value),
        };
    }

    private static string Flag(bool value) => value ? "true" : "false";

    private static bool Parse(Dictionary<string, string> fields, string name, string value) => fields.GetValueOrDefault(name) switch
    {
        "true" => true,
        "false" => false,
        _ => throw new InvalidDataException($"Model metadata '{Key}' = '{value}' has no valid '{name}=true|false'."),
    };
}
