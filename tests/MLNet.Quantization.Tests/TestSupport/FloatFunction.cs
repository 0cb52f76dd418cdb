using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>
/// Checks that a float-graph pass keeps the function the graph computes: ORT runs the graph on seeded random inputs
/// before and after, and the outputs must agree within float rounding.
/// </summary>
internal static class FloatFunction
{
    /// <summary><paramref name="count"/> values uniform in [−scale, scale), from <paramref name="seed"/>.</summary>
    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Runs <paramref name="graph"/> in ORT on <paramref name="samples"/> random inputs in [−3, 3).</summary>
    public static float[] Outputs(OnnxGraph graph, int samples = 8, int seed = 7)
    {
        using var runner = new ModelRunner(graph.ToModel());
        return runner.Run(Random(samples * runner.SampleSize, seed, 3f), samples);
    }

    /// <summary>The outputs agree to 10⁻⁵ of the largest output (at least 10⁻⁵ absolute).</summary>
    public static void AssertSame(float[] before, float[] after)
    {
        Assert.HasCount(before.Length, after);
        double largest = before.Max(Math.Abs);
        double worst = before.Zip(after, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsLessThan(1e-5 * Math.Max(1, largest), worst, $"largest output {largest}, largest difference {worst}");
    }
}
