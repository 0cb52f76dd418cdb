using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// Bounds the random inputs <c>bench</c> allocates: for every batch size, each model input's values (batch times the
/// fixed non-batch dimensions; a fixed batch is relaxed to the size asked for, in checked arithmetic) must fit in <see cref="MaxValues"/>. A huge <c>--batch</c> or
/// <c>--input-shape</c> is bad input, refused before anything is allocated.
/// </summary>
internal static class BenchInputBound
{
    /// <summary>The most values one benchmark input may hold: 2^28 float32, 1 GiB.</summary>
    public const long MaxValues = 1L << 28;

    /// <exception cref="CliException">An input at one of <paramref name="sizes"/> would exceed the bound; the message names <c>--batch</c>, the input and its shape.</exception>
    public static void Check(OnnxGraph graph, string option, IReadOnlyList<int> sizes)
    {
        foreach (var input in graph.Inputs)
        {
            if (input.Shape is not { Count: > 0 } shape)
                continue;
            long sample = 1;
            foreach (var dim in shape.Skip(1))
            {
                if (dim.Value is long d && d > 0)
                    sample = sample > MaxValues ? sample : sample * Math.Min(d, MaxValues + 1);
            }

            foreach (int size in sizes)
            {
                if (sample > MaxValues / size)
                {
                    throw new CliException(
                        $"--batch {size}: {option} input '{input.Name}' [{string.Join(", ", shape)}] would hold more than {MaxValues} values (1 GiB) per batch; use a smaller --batch or --input-shape");
                }
            }
        }
    }
}
