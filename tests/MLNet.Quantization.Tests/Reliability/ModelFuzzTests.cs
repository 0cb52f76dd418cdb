using System.Diagnostics;
using MLNet.Quantization.Tests.Shared;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Fuzzes the library: damaged copies of the bundled models (<see cref="ModelMutator"/>) go through load, quantize
/// (dynamic and static) and inspect (<see cref="FuzzHarness"/>). Each case must end in success or a typed exception
/// within a time limit (the CLI's fuzz tests, in MLNet.Quantization.Cli.Tests, run the same cases through the tool). The seed is fixed; CI runs
/// <see cref="DefaultCases"/> cases, and <c>MLNET_QUANTIZE_FUZZ_CASES=2000</c> runs more by hand
/// (<c>MLNET_QUANTIZE_FUZZ_SEED</c> picks another seed).
/// </summary>
[TestClass]
public sealed class ModelFuzzTests
{
    private const int DefaultCases = 100;
    private const int DefaultSeed = 20261129;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(60);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void DamagedModelsLoadQuantizeAndInspectOrFailTyped()
    {
        int cases = EnvInt("MLNET_QUANTIZE_FUZZ_CASES", DefaultCases);
        int seed = EnvInt("MLNET_QUANTIZE_FUZZ_SEED", DefaultSeed);
        var models = TestPaths.SharedModels.Select(n => (n, File.ReadAllBytes(TestPaths.Model(n)))).ToList();
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        bool verbose = Environment.GetEnvironmentVariable("MLNET_QUANTIZE_FUZZ_VERBOSE") == "1";
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            var fuzzCase = ModelMutator.Create(seed, i, models);
            var task = Task.Run(() => FuzzHarness.Run(fuzzCase));
            string outcome;
            try
            {
                outcome = task.Wait(CaseLimit) ? task.Result.TrimEnd() : "TIMEOUT";
                if (outcome == "TIMEOUT")
                    failures.Add($"{fuzzCase.Label}: did not finish within {CaseLimit.TotalSeconds} s");
            }
            catch (AggregateException e) when (e.InnerException is AssertFailedException failure)
            {
                outcome = "FAILED";
                failures.Add(failure.Message + (failure.InnerException is { } inner ? $"\n    at {inner.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}" : ""));
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (verbose)
                TestContext.WriteLine($"{fuzzCase.Label}: {outcome}");
        }

        TestContext.WriteLine($"{cases} cases, seed {seed}, {watch.Elapsed.TotalSeconds:F1} s");
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
            TestContext.WriteLine($"{count,6}  {outcome}");
        Assert.IsEmpty(failures, $"{failures.Count} of {cases} cases failed:\n{string.Join("\n", failures)}");
        Assert.AreEqual(cases, outcomes.Values.Sum());
        Assert.IsTrue(outcomes.Keys.Any(o => o.StartsWith("load:ok", StringComparison.Ordinal)), "some damaged models must still load");
        Assert.IsTrue(outcomes.Keys.Any(o => o.StartsWith("load:OnnxFormatException", StringComparison.Ordinal)), "some damaged models must be rejected at load");
    }

    [TestMethod]
    public void CasesAreReproducibleFromSeedAndIndex()
    {
        var models = TestPaths.SharedModels.Select(n => (n, File.ReadAllBytes(TestPaths.Model(n)))).ToList();
        for (int i = 0; i < 20; i++)
        {
            var a = ModelMutator.Create(DefaultSeed, i, models);
            var b = ModelMutator.Create(DefaultSeed, i, models);
            Assert.AreEqual(a.Label, b.Label);
            CollectionAssert.AreEqual(a.Bytes, b.Bytes, a.Label);
        }
    }

    [TestMethod]
    [DataRow("node-flood", "dynamic:OnnxGraphException")]
    [DataRow("already-quantized", "dynamic:OnnxGraphException")]
    [DataRow("deep-subgraphs", null)]
    [DataRow("extreme-weights", null)]
    public void TheHugeDeepQuantizedAndExtremeFamiliesEndTyped(string family, string? expected)
    {
        var model = ("fmnist_cnn", File.ReadAllBytes(TestPaths.Model("fmnist_cnn")));
        var outcomes = new List<string>();
        for (int seed = 1; seed <= 8; seed++)
        {
            var fuzzCase = ModelMutator.CreateWith(family, seed, model);
            StringAssert.StartsWith(fuzzCase.Mutations, family.Split('-')[0]);
            Assert.DoesNotContain("(none)", fuzzCase.Mutations);
            string outcome = FuzzHarness.Run(fuzzCase);
            TestContext.WriteLine($"{fuzzCase.Label}: {outcome}");
            outcomes.Add(outcome);
            if (expected is not null)
                StringAssert.Contains(outcome, expected, fuzzCase.Label);
            if (family == "deep-subgraphs")
            {
                // protobuf parses about 30 levels; deeper is a format error at load, never a crash
                int depth = int.Parse(fuzzCase.Mutations["deep-subgraphs(".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
                if (depth >= 35)
                    StringAssert.StartsWith(outcome, "load:OnnxFormatException", fuzzCase.Label);
                else if (depth <= 25)
                    StringAssert.StartsWith(outcome, "load:ok", fuzzCase.Label);
            }
        }

        Assert.HasCount(8, outcomes);
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;
}
