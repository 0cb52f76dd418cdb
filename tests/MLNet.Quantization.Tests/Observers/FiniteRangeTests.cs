using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class FiniteRangeTests
{
    [TestMethod]
    public void MatchesANaiveLoopWithNonFiniteValuesAnywhere()
    {
        var rng = new Random(17);
        foreach (int n in new[] { 1, 2, 7, 8, 9, 31, 64, 65, 1000 })
        {
            for (int trial = 0; trial < 20; trial++)
            {
                var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 200 - 100)).ToArray();
                int specials = rng.Next(4);
                for (int s = 0; s < specials; s++)
                    x[rng.Next(n)] = rng.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
                var finite = x.Where(float.IsFinite).ToArray();
                bool any = FiniteRange.TryGet(x, out float min, out float max, out bool allFinite);
                Assert.AreEqual(finite.Length > 0, any);
                Assert.AreEqual(finite.Length == n, allFinite);
                if (any)
                {
                    Assert.AreEqual(finite.Min(), min);
                    Assert.AreEqual(finite.Max(), max);
                }
            }
        }
    }

    [TestMethod]
    public void PerChannelMatchesANaiveLoopOnEveryAxis()
    {
        var rng = new Random(23);
        int[] shape = [3, 4, 5];
        var x = Enumerable.Range(0, 60).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        x[rng.Next(60)] = float.NaN;
        x[rng.Next(60)] = float.NegativeInfinity;
        x[rng.Next(60)] = float.PositiveInfinity;
        for (int axis = 0; axis < 3; axis++)
        {
            int outer = shape[..axis].Aggregate(1, (a, b) => a * b), channels = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (a, b) => a * b);
            var mins = new float[channels];
            var maxs = new float[channels];
            FiniteRange.PerChannel(x, outer, channels, inner, mins, maxs);
            for (int c = 0; c < channels; c++)
            {
                var values = new List<float>();
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                        values.Add(x[(o * channels + c) * inner + i]);
                var finite = values.Where(float.IsFinite).ToArray();
                Assert.AreEqual(finite.Min(), mins[c], $"axis {axis} channel {c}");
                Assert.AreEqual(finite.Max(), maxs[c], $"axis {axis} channel {c}");
            }
        }
    }
}
