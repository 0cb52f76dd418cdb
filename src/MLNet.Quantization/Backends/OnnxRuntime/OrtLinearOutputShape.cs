using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// Writes the shape a flattened linear's <c>[rows, N]</c> output is reshaped back to, <c>[d0, …, dk, N]</c>: the leading
/// dims of its input <c>x[d0, …, dk, K]</c>. For <see cref="OrtLinearBiasFusion"/>.
/// </summary>
/// <remarks>
/// <para>When at most one leading dim is unknown the shape is a constant with -1 in its place (in <c>d0</c>'s place when
/// all are known), which ONNX Runtime needs no node for. Otherwise it is computed from the input at run time:
/// <c>Concat(Shape(x)[0:-1], [N])</c>, with <c>Shape(x, end=-1)</c> from opset 15 and <c>Slice(Shape(x), 0, -1)</c> below.
/// Such a Reshape gets <c>allowzero=1</c> (opset 14 and later), so a leading dim of size 0 stays 0 instead of being read
/// as "copy this dim"; at opset 13 a zero-sized dim after the first makes that Reshape fail at run time.</para>
/// <para>One instance serves one pass over a graph: linears reading the same input with the same N share the nodes.</para>
/// </remarks>
internal sealed class OrtLinearOutputShape(OnnxGraph graph)
{
    private readonly Dictionary<string, string> _leadingDims = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Input, long N), string> _shapes = [];

    /// <summary>A shape tensor, and whether the Reshape reading it needs <c>allowzero=1</c>.</summary>
    public readonly record struct Written(string Name, bool AllowZero);

    /// <summary>
    /// The name of the shape tensor for a linear reading <paramref name="input"/> whose output has shape
    /// <paramref name="outputShape"/> (rank ≥ 2, the last dim <paramref name="n"/>); <paramref name="name"/> prefixes
    /// what is added.
    /// </summary>
    public Written Write(string input, IReadOnlyList<Dimension> outputShape, long n, string name)
    {
        if (Constant(outputShape, n) is { } constant)
            return new(graph.AddInitializer(TensorData.FromInt64(name + "_nd_shape", [constant.Length], constant)), false);
        bool allowZero = graph.GetOpsetVersion() >= 14;
        if (_shapes.TryGetValue((input, n), out var shared))
            return new(shared, allowZero);

        if (!_leadingDims.TryGetValue(input, out var leading))
        {
            leading = graph.UniqueName(name + "_leading_dims");
            if (graph.GetOpsetVersion() >= 15)
            {
                graph.AddNode("Shape", [input], [leading], name + "_leading_dims_Shape").SetInt("end", -1);
            }
            else
            {
                string full = graph.UniqueName(name + "_input_shape");
                graph.AddNode("Shape", [input], [full], name + "_input_Shape");
                string start = graph.AddInitializer(TensorData.FromInt64(name + "_leading_dims_start", [1], [0]));
                string end = graph.AddInitializer(TensorData.FromInt64(name + "_leading_dims_end", [1], [-1]));
                graph.AddNode("Slice", [full, start, end], [leading], name + "_leading_dims_Slice");
            }

            _leadingDims[input] = leading;
        }

        string last = graph.AddInitializer(TensorData.FromInt64(name + "_output_dim", [1], [n]));
        string shape = graph.UniqueName(name + "_nd_shape");
        graph.AddNode("Concat", [leading, last], [shape], name + "_nd_shape_Concat").SetInt("axis", 0);
        _shapes[(input, n)] = shape;
        return new(shape, allowZero);
    }

    /// <summary>The constant shape, or null when more than one leading dim is unknown.</summary>
    private static long[]? Constant(IReadOnlyList<Dimension> outputShape, long n)
    {
        long?[] leading = outputShape.SkipLast(1).Select(d => d.Value is > 0 ? d.Value : null).ToArray();
        if (leading.Skip(1).All(d => d is not null))
            return [-1, .. leading.Skip(1).Select(d => d!.Value), n];
        if (leading.Count(d => d is null) == 1)
            return [.. leading.Select(d => d ?? -1), n];
        return null;
    }
}
