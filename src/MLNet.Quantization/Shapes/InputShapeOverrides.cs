using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Shapes;

/// <summary>
/// Fixes the shapes of named graph inputs, as ML.NET's <c>ApplyOnnxModel(shapeDictionary: ...)</c> does: each named
/// input is declared with the given sizes, so symbolic dimensions get a size for shape inference and calibration.
/// </summary>
internal static class InputShapeOverrides
{
    /// <summary>Declares the given shapes on the graph's inputs; nothing happens for a null or empty dictionary.</summary>
    /// <exception cref="ArgumentException">A name is not a graph input (the message lists the inputs), a rank differs, a size is not positive, or a fixed size of the model is contradicted.</exception>
    public static void Apply(OnnxGraph graph, IReadOnlyDictionary<string, int[]>? shapes)
    {
        if (shapes is null || shapes.Count == 0)
            return;
        var inputs = graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var (name, dims) in shapes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!inputs.TryGetValue(name, out var input))
                throw new ArgumentException($"Input shape given for '{name}', which is not an input of the model; its inputs are [{string.Join(", ", inputs.Values)}].");
            ArgumentNullException.ThrowIfNull(dims, name);
            if (dims.Any(d => d <= 0))
                throw new ArgumentException($"Input shape [{string.Join(", ", dims)}] for '{name}' has a size that is not positive.");
            if (input.Shape is { } declared)
            {
                if (declared.Count != dims.Length)
                    throw new ArgumentException($"Input shape [{string.Join(", ", dims)}] for '{name}' has rank {dims.Length}, but the model declares {input}.");
                for (int i = 0; i < dims.Length; i++)
                {
                    if (declared[i].Value is long fixedSize && fixedSize != dims[i])
                        throw new ArgumentException($"Input shape [{string.Join(", ", dims)}] for '{name}' sets dimension {i} to {dims[i]}, but the model fixes it at {fixedSize} ({input}).");
                }
            }

            graph.SetDeclaredShape(name, dims.Select(d => new Dimension(d, null)).ToArray());
        }
    }
}
