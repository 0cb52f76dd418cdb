using System.Globalization;
using System.Text;
using MLNet.Quantization.Tests.Shared;

namespace MLNet.Quantization.Cli.Tests.Fuzz;

/// <summary>
/// Runs one fuzz case (<see cref="ModelMutator"/>) through the tool: <c>inspect</c> always, and <c>quantize</c> dynamic
/// or static (on a tiny random CSV) on every other case. The tool must exit 0, or 2 with exactly one <c>error:</c>
/// line, and leave no temporary file. Returns an outcome label such as <c>cli-inspect:0 cli-dynamic:2</c>; anything
/// else fails the test with the case's label.
/// </summary>
internal sealed class CliFuzzHarness(string workDirectory)
{
    private static readonly string NodeLimit = ModelMutator.NodeLimit.ToString(CultureInfo.InvariantCulture);

    public string Run(FuzzCase fuzzCase)
    {
        var outcome = new StringBuilder();
        string path = Path.Combine(workDirectory, $"case{fuzzCase.Index}.onnx");
        File.WriteAllBytes(path, fuzzCase.Bytes);
        try
        {
            Cli(fuzzCase, "cli-inspect", outcome, ["inspect", "--model", path]);
            string output = Path.Combine(workDirectory, $"case{fuzzCase.Index}.int8.onnx");
            switch (fuzzCase.Index % 4)
            {
                case 0:
                    Cli(fuzzCase, "cli-dynamic", outcome, ["quantize", "--model", path, "--output", output, "--mode", "dynamic", "--max-nodes", NodeLimit]);
                    break;
                case 2:
                    string csv = Path.Combine(workDirectory, "calibration.csv");
                    if (!File.Exists(csv))
                        File.WriteAllText(csv, RandomCsv(rows: 3, values: 784));
                    Cli(fuzzCase, "cli-static", outcome, ["quantize", "--model", path, "--output", output, "--calibration-data", csv, "--activation-observer", "minmax", "--max-nodes", NodeLimit]);
                    break;
            }

            if (File.Exists(output))
                File.Delete(output);
        }
        finally
        {
            File.Delete(path);
        }

        var leftovers = Directory.GetFiles(workDirectory, "*.tmp");
        if (leftovers.Length > 0)
            throw new AssertFailedException($"{fuzzCase.Label}: the CLI left temporary files: {string.Join(", ", leftovers)}");
        return outcome.ToString();
    }

    private static void Cli(FuzzCase fuzzCase, string stage, StringBuilder outcome, string[] args)
    {
        var (code, _, error) = CliTestFiles.Run(args);
        if (code == 0)
        {
            outcome.Append(stage).Append(":0 ");
            return;
        }

        if (code != 2)
            throw new AssertFailedException($"{fuzzCase.Label}: {stage} exited {code}: {error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal))
            throw new AssertFailedException($"{fuzzCase.Label}: {stage} exited 2 without exactly one 'error:' line: {error}");
        outcome.Append(stage).Append(":2 ");
    }

    private static string RandomCsv(int rows, int values)
    {
        var random = new Random(11);
        var text = new StringBuilder();
        for (int r = 0; r < rows; r++)
            text.AppendLine(string.Join(",", Enumerable.Range(0, values).Select(_ => (random.NextDouble() * 2 - 1).ToString("F3", CultureInfo.InvariantCulture))));
        return text.ToString();
    }
}
