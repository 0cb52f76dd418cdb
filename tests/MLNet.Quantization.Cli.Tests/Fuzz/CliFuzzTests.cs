using MLNet.Quantization.Tests.Shared;

namespace MLNet.Quantization.Cli.Tests.Fuzz;

/// <summary>
/// Fuzzes the tool with the damaged models the library's fuzz tests use (<see cref="ModelMutator"/>, same seed and
/// case count): each case must exit 0, or 2 with one <c>error:</c> line, within a time limit
/// (<see cref="CliFuzzHarness"/>). <c>MLNET_QUANTIZE_FUZZ_CASES</c> and <c>MLNET_QUANTIZE_FUZZ_SEED</c> run more cases
/// or another seed by hand.
/// </summary>
[TestClass]
public sealed class CliFuzzTests
{
    private const int DefaultCases = 100;
    private const int DefaultSeed = 20261129;
    private static readonly string[] Models = ["fmnist_cnn", "fmnist_rowtf", "fmnist_mobile"];
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(60);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void DamagedModelsAreInspectedAndQuantizedOrRefusedWithOneErrorLine()
    {
        int cases = EnvInt("MLNET_QUANTIZE_FUZZ_CASES", DefaultCases);
        int seed = EnvInt("MLNET_QUANTIZE_FUZZ_SEED", DefaultSeed);
        var models = Models.Select(n => (n, File.ReadAllBytes(CliTestFiles.Model(n)))).ToList();
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        WithWorkDirectory(harness =>
        {
            for (int i = 0; i < cases; i++)
            {
                var fuzzCase = ModelMutator.Create(seed, i, models);
                string outcome = RunWithLimit(harness, fuzzCase, failures);
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        });

        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
            TestContext.WriteLine($"{count,6}  {outcome}");
        Assert.IsEmpty(failures, $"{failures.Count} of {cases} cases failed:\n{string.Join("\n", failures)}");
        Assert.AreEqual(cases, outcomes.Values.Sum());
        Assert.IsTrue(outcomes.Keys.Any(o => o.StartsWith("cli-inspect:0", StringComparison.Ordinal)), "some damaged models must still be inspected");
        Assert.IsTrue(outcomes.Keys.Any(o => o.StartsWith("cli-inspect:2", StringComparison.Ordinal)), "some damaged models must be refused");
        Assert.IsTrue(outcomes.Keys.Any(o => o.Contains("cli-dynamic:0", StringComparison.Ordinal)), "some damaged models must still quantize");
    }

    [TestMethod]
    [DataRow("node-flood", "cli-dynamic:2")]
    [DataRow("already-quantized", "cli-dynamic:2")]
    [DataRow("deep-subgraphs", null)]
    [DataRow("extreme-weights", null)]
    public void TheHugeDeepQuantizedAndExtremeFamiliesExitZeroOrTwo(string family, string? expected)
    {
        var model = ("fmnist_cnn", File.ReadAllBytes(CliTestFiles.Model("fmnist_cnn")));
        var failures = new List<string>();
        var outcomes = new List<string>();
        WithWorkDirectory(harness =>
        {
            // seeds that are multiples of 4 also run quantize --mode dynamic
            foreach (int seed in new[] { 4, 8, 12, 16 })
            {
                var fuzzCase = ModelMutator.CreateWith(family, seed, model);
                string outcome = RunWithLimit(harness, fuzzCase, failures);
                TestContext.WriteLine($"{fuzzCase.Label}: {outcome}");
                outcomes.Add(outcome);
                if (expected is not null && failures.Count == 0)
                    StringAssert.Contains(outcome, expected, fuzzCase.Label);
            }
        });

        Assert.IsEmpty(failures, string.Join("\n", failures));
        Assert.HasCount(4, outcomes);
    }

    private static void WithWorkDirectory(Action<CliFuzzHarness> run)
    {
        string work = Path.Combine(Path.GetTempPath(), "mlnetq-clifuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            run(new CliFuzzHarness(work));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string RunWithLimit(CliFuzzHarness harness, FuzzCase fuzzCase, List<string> failures)
    {
        var task = Task.Run(() => harness.Run(fuzzCase));
        try
        {
            if (task.Wait(CaseLimit))
                return task.Result.TrimEnd();
            failures.Add($"{fuzzCase.Label}: did not finish within {CaseLimit.TotalSeconds} s");
            return "TIMEOUT";
        }
        catch (AggregateException e) when (e.InnerException is AssertFailedException failure)
        {
            failures.Add(failure.Message);
            return "FAILED";
        }
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;
}
