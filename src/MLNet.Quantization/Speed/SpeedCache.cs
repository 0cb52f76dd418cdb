using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNet.Quantization.Speed;

/// <summary>What the measurements hold for: the float model's bytes, the inputs, the threads, the CPU and ONNX Runtime.</summary>
internal sealed record SpeedCacheKey(
    [property: JsonPropertyName("model_sha256")] string ModelSha256,
    [property: JsonPropertyName("inputs")] string Inputs,
    [property: JsonPropertyName("intra_op_threads")] int IntraOpThreads,
    [property: JsonPropertyName("cpu")] string Cpu,
    [property: JsonPropertyName("onnxruntime")] string OnnxRuntime);

/// <summary>One unit's timings in µs; <c>fp32_us</c> is null when the fp32 model had no node for it.</summary>
internal sealed record SpeedCacheUnit(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("int8_kernel_us")] double Int8KernelMicros,
    [property: JsonPropertyName("int8_boundary_us")] double Int8BoundaryMicros,
    [property: JsonPropertyName("fp32_us")] double? Fp32Micros,
    [property: JsonPropertyName("added_if_float_us")] double AddedIfFloatMicros);

/// <summary>The whole-model check: median run times in µs of the fp32 model, the full int8 one and the placed one (null when nothing was placed in float).</summary>
internal sealed record SpeedCacheCheck(
    [property: JsonPropertyName("fp32_us")] double Fp32Micros,
    [property: JsonPropertyName("int8_us")] double Int8Micros,
    [property: JsonPropertyName("placed_us")] double? PlacedMicros);

/// <summary>The file: format name and version, key, units, check and how long the measuring took.</summary>
internal sealed record SpeedCacheFile(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("key")] SpeedCacheKey Key,
    [property: JsonPropertyName("units")] List<SpeedCacheUnit> Units,
    [property: JsonPropertyName("check")] SpeedCacheCheck Check,
    [property: JsonPropertyName("measuring_seconds")] double MeasuringSeconds);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(SpeedCacheFile))]
internal sealed partial class SpeedCacheJson : JsonSerializerContext;

/// <summary>
/// The speed-aware measurements of one model on one CPU, kept in a small versioned JSON file so that a second run does
/// not profile again. A file is used only when its key (model hash, inputs, threads, CPU, ORT version) and its unit
/// list equal this run's; a file that is not a valid cache is refused with an error naming it, never half-read.
/// </summary>
internal static class SpeedCache
{
    public const string Format = "mlnet-quantization.speed";
    public const int Version = 1;

    /// <summary>The largest cache file read, in bytes.</summary>
    public const long MaxBytes = 16 << 20;

    /// <summary>
    /// The cached measurements when <paramref name="path"/> holds a valid cache for <paramref name="key"/> and exactly
    /// <paramref name="units"/>; null when the file does not exist or was made for another key or unit list (<paramref name="why"/> says which).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a valid cache (named in the message, with what is wrong).</exception>
    public static SpeedCacheFile? TryRead(string path, SpeedCacheKey key, IReadOnlyList<(string Name, string OpType)> units, out string? why)
    {
        why = null;
        var info = new FileInfo(path);
        if (!info.Exists)
            return null;
        if (info.Length > MaxBytes)
            throw Invalid(path, $"it is {info.Length} bytes, above the {MaxBytes} a speed cache may take");
        SpeedCacheFile? file;
        try
        {
            file = JsonSerializer.Deserialize(File.ReadAllText(path), SpeedCacheJson.Default.SpeedCacheFile);
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"it is not valid JSON for a speed cache ({e.Message})");
        }

        if (file is null || file.Format != Format)
            throw Invalid(path, $"its \"format\" is not \"{Format}\"");
        if (file.Version != Version)
            throw Invalid(path, $"its version is {file.Version}; this library reads version {Version}");
        if (file.Key is null || file.Units is null || file.Check is null)
            throw Invalid(path, "it lacks \"key\", \"units\" or \"check\"");
        foreach (var unit in file.Units)
        {
            if (unit is null || string.IsNullOrEmpty(unit.Node) || unit.OpType is null)
                throw Invalid(path, "a unit has no \"node\" or \"op_type\"");
            if (!Valid(unit.Int8KernelMicros) || !Valid(unit.Int8BoundaryMicros) || !Valid(unit.AddedIfFloatMicros) || unit.Fp32Micros is { } f && !Valid(f))
                throw Invalid(path, $"unit '{unit.Node}' has a time that is not a finite number of µs ≥ 0");
        }

        if (!Valid(file.Check.Fp32Micros) || !Valid(file.Check.Int8Micros) || file.Check.PlacedMicros is { } p && !Valid(p) || !Valid(file.MeasuringSeconds))
            throw Invalid(path, "its \"check\" or \"measuring_seconds\" holds a time that is not a finite number ≥ 0");

        if (file.Key != key)
        {
            why = $"the speed cache '{path}' was measured for another model, input, thread count, CPU or ONNX Runtime; measuring again";
            return null;
        }

        if (!file.Units.Select(u => (u.Node, u.OpType)).SequenceEqual(units))
        {
            why = $"the speed cache '{path}' lists other units than this conversion quantizes; measuring again";
            return null;
        }

        return file;
    }

    /// <summary>Writes <paramref name="file"/> to <paramref name="path"/> through a temporary file, so that a reader never sees half of it.</summary>
    public static void Write(string path, SpeedCacheFile file)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(file, SpeedCacheJson.Default.SpeedCacheFile));
        File.Move(temp, full, overwrite: true);
    }

    private static bool Valid(double value) => double.IsFinite(value) && value >= 0;

    private static InvalidDataException Invalid(string path, string what) => new($"speed cache '{path}' cannot be used: {what}. Delete it, or give another cache path.");
}
