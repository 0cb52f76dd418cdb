using System.CommandLine;
using System.Globalization;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Shapes;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>--input-shape NAME=D1xD2x...</c> (repeatable), as ML.NET's <c>shapeDictionary</c>: sizes for a model input's
/// symbolic dimensions, e.g. <c>--input-shape x=1x3x640x640</c>.
/// </summary>
internal static class InputShapeOption
{
    public const string Name = "--input-shape";

    public static Option<string[]> Create() => new(Name)
    {
        Description = "Sizes for a model input, NAME=D1xD2x... (e.g. x=1x3x640x640); repeat for several inputs. Fixes symbolic dimensions for shape inference and calibration.",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The parsed shapes by input name; null when none were given.</summary>
    /// <exception cref="CliException">An item is malformed (the message names the option and quotes the text), holds more values than a tensor can, or names an input twice.</exception>
    public static Dictionary<string, int[]>? Parse(string[]? values)
    {
        if (values is null || values.Length == 0)
            return null;
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (string text in values)
        {
            int eq = text.LastIndexOf('=');
            string name = eq > 0 ? text[..eq].Trim() : "";
            var parts = eq > 0 ? text[(eq + 1)..].Split('x', StringSplitOptions.TrimEntries) : [];
            var dims = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int d) && d > 0 ? d : -1).ToArray();
            if (name.Length == 0 || dims.Length == 0 || dims.Any(d => d < 0))
                throw new CliException($"{Name}: '{text}' is not NAME=D1xD2x... with positive whole sizes (e.g. x=1x3x640x640)");
            if (dims.Aggregate(1L, (a, d) => a > Array.MaxLength ? a : a * d) > Array.MaxLength)
                throw new CliException($"{Name}: '{text}' has more than {Array.MaxLength} values, more than a tensor can hold");
            if (!shapes.TryAdd(name, dims))
                throw new CliException($"{Name}: input '{name}' is given twice");
        }

        return shapes;
    }

    /// <summary>Declares the shapes on <paramref name="graph"/>'s inputs; errors name the option.</summary>
    /// <exception cref="CliException">A name is not a model input (the message lists them), or a shape contradicts the model.</exception>
    public static void Apply(OnnxGraph graph, IReadOnlyDictionary<string, int[]>? shapes)
    {
        try
        {
            InputShapeOverrides.Apply(graph, shapes);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"{Name}: {e.Message}");
        }
    }
}
