using System.Text.Json;

namespace MLNet.Quantization.Speed;

/// <summary>One node of ONNX Runtime's executed graph, as its profiler saw it: the median kernel time over the runs kept.</summary>
/// <param name="Name">The node's name in ORT's optimized graph (the profiler event without its <c>_kernel_time</c> suffix).</param>
/// <param name="OpType">The kernel's operator (<c>args.op_name</c>), e.g. <c>QLinearConv</c>.</param>
/// <param name="MedianMicros">The median of the node's <c>dur</c> over the runs kept, in µs.</param>
/// <param name="InputElements">Elements of the node's first input (from <c>input_type_shape</c>), 0 when not recorded.</param>
/// <param name="OutputElements">Elements of the node's first output (from <c>output_type_shape</c>), 0 when not recorded.</param>
internal sealed record ProfiledNode(string Name, string OpType, double MedianMicros, long InputElements, long OutputElements);

/// <summary>
/// Reads the profile JSON ONNX Runtime writes with <c>SessionOptions.EnableProfiling</c>: an array of Chrome-trace events,
/// one <c>cat: "Node"</c> event named <c>NODE_kernel_time</c> per node and run, with its duration <c>dur</c> in µs.
/// </summary>
internal static class OrtProfileReader
{
    private const string KernelSuffix = "_kernel_time";

    /// <summary>The kernel time of every node, as the median over its runs after the first <paramref name="skipRuns"/> (warm-up).</summary>
    /// <exception cref="InvalidDataException">The text is not a profile: not a JSON array of events, or an event without a name or duration.</exception>
    public static IReadOnlyDictionary<string, ProfiledNode> Read(string json, int skipRuns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skipRuns);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The ONNX Runtime profile is not JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException("The ONNX Runtime profile is not a JSON array of trace events.");
            var runs = new Dictionary<string, (string OpType, List<double> Durations, long In, long Out)>(StringComparer.Ordinal);
            foreach (var e in document.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("cat", out var cat) || cat.ValueKind != JsonValueKind.String || cat.GetString() != "Node")
                    continue;
                if (!e.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException("An ONNX Runtime profile event of category Node has no name.");
                string name = nameElement.GetString()!;
                if (!name.EndsWith(KernelSuffix, StringComparison.Ordinal) || name.Length == KernelSuffix.Length)
                    continue; // the fence events around each kernel
                if (!e.TryGetProperty("dur", out var dur) || dur.ValueKind != JsonValueKind.Number || !dur.TryGetDouble(out double micros) || !(micros >= 0))
                    throw new InvalidDataException($"The ONNX Runtime profile event '{name}' has no non-negative duration 'dur'.");
                var args = e.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
                string op = args.ValueKind == JsonValueKind.Object && args.TryGetProperty("op_name", out var opName) && opName.ValueKind == JsonValueKind.String ? opName.GetString()! : "";
                string node = name[..^KernelSuffix.Length];
                if (!runs.TryGetValue(node, out var entry))
                    runs[node] = entry = (op, [], FirstElements(args, "input_type_shape"), FirstElements(args, "output_type_shape"));
                entry.Durations.Add(micros);
            }

            return runs.Where(r => r.Value.Durations.Count > skipRuns).ToDictionary(
                r => r.Key, r => new ProfiledNode(r.Key, r.Value.OpType, Median(r.Value.Durations.Skip(skipRuns)), r.Value.In, r.Value.Out), StringComparer.Ordinal);
        }
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The element count of the first shape in <c>[{"float": [1, 16, 24, 96]}, ...]</c>; 0 when absent or malformed.</summary>
    private static long FirstElements(JsonElement args, string property)
    {
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty(property, out var shapes) || shapes.ValueKind != JsonValueKind.Array || shapes.GetArrayLength() == 0)
            return 0;
        var first = shapes[0];
        if (first.ValueKind != JsonValueKind.Object)
            return 0;
        foreach (var typed in first.EnumerateObject())
        {
            if (typed.Value.ValueKind != JsonValueKind.Array)
                return 0;
            long count = 1;
            foreach (var d in typed.Value.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                    return 0;
                count = count > long.MaxValue / Math.Max(dim, 1) ? long.MaxValue : count * dim;
            }

            return count;
        }

        return 0;
    }
}
