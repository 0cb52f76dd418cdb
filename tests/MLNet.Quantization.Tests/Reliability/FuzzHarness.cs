using System.Globalization;
using System.Text;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Cli;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Runs one fuzz case through load → quantize (dynamic, and static on a tiny random calibration set) → inspect
/// (<see cref="FusedGraphInspector"/>), and through the CLI (<c>inspect</c> always; <c>quantize</c> dynamic or static
/// on every other case). Every step must succeed or throw one of the library's typed exceptions; the CLI must exit 0,
/// or 2 with one <c>error:</c> line. Returns an outcome label such as <c>ok</c> or <c>load:OnnxFormatException</c>;
/// anything else fails the test with the case's label and the exception.
/// </summary>
internal sealed class FuzzHarness(string workDirectory)
{
    /// <summary>Exceptions that are the library's answer to bad input.</summary>
    public static bool IsTyped(Exception e) => (e is OnnxFormatException or OnnxGraphException or QuantizationAnnotationException
        or ArgumentException or NotSupportedException or CalibrationException) && !ThrownByTheFramework(e);

    /// <summary>
    /// An ArgumentException family member thrown inside the .NET libraries' collections (a list index out of range, a
    /// duplicate dictionary key) is a bug of ours that happens to share the base type, not an answer to bad input.
    /// </summary>
    private static bool ThrownByTheFramework(Exception e)
    {
        if (e is not ArgumentException)
            return false;
        var thrower = new System.Diagnostics.StackTrace(e, fNeedFileInfo: false).GetFrame(0)?.GetMethod()?.DeclaringType;
        return thrower?.Namespace is { } ns && ns.StartsWith("System", StringComparison.Ordinal)
            && thrower.Name is "ThrowHelper" or "Dictionary`2" or "List`1" or "Array" or "Enumerable" or "Span`1" or "ReadOnlySpan`1";
    }

    public string Run(FuzzCase fuzzCase)
    {
        var outcome = new StringBuilder();
        OnnxModel? model = Stage(fuzzCase, "load", outcome, () => OnnxModel.Load(fuzzCase.Bytes, $"case{fuzzCase.Index}.onnx"));
        if (model is not null)
        {
            Stage(fuzzCase, "dynamic", outcome, () => QuantizeAndInspect(model, dynamic: true));
            Stage(fuzzCase, "static", outcome, () => QuantizeAndInspect(model, dynamic: false));
        }

        RunCli(fuzzCase, outcome);
        return outcome.ToString();
    }

    private static T? Stage<T>(FuzzCase fuzzCase, string stage, StringBuilder outcome, Func<T> action)
        where T : class
    {
        try
        {
            var result = action();
            outcome.Append(stage).Append(":ok ");
            return result;
        }
        catch (Exception e) when (IsTyped(e))
        {
            if (string.IsNullOrWhiteSpace(e.Message))
                throw new AssertFailedException($"{fuzzCase.Label}: {stage} threw {e.GetType().Name} without a message");
            outcome.Append(stage).Append(':').Append(e.GetType().Name).Append(' ');
            if (Environment.GetEnvironmentVariable("MLNET_QUANTIZE_FUZZ_VERBOSE") == "1")
                Console.WriteLine($"{fuzzCase.Label} {stage}: {e.Message}");
            return null;
        }
        catch (Exception e)
        {
            throw new AssertFailedException($"{fuzzCase.Label}: {stage} threw untyped {e.GetType().FullName}: {e.Message}", e);
        }
    }

    private static object QuantizeAndInspect(OnnxModel model, bool dynamic)
    {
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic));
        var prepared = QuantizationFlow.Prepare(model, quantizer, new PrepareOptions { MaxNodeCount = ModelMutator.NodeLimit });
        if (prepared.NeedsCalibration)
            prepared.Calibrate([RandomBatch(prepared.Graph)]);
        var quantized = prepared.Convert();
        var bytes = quantized.Model.ToBytes();
        var fused = FusedGraphInspector.OptimizedOpTypes(bytes);
        FusedGraphInspector.UnfusedQuantizedCompute(bytes);
        return fused;
    }

    /// <summary>Two random samples per graph input, with unknown dims set to 2; float or int64 as the input declares.</summary>
    internal static List<NamedTensor> RandomBatch(OnnxGraph graph)
    {
        var random = new Random(7);
        var batch = new List<NamedTensor>();
        foreach (var input in graph.Inputs)
        {
            int[] shape = input.Shape is null ? [2] : input.Shape.Select(d => d.Value is long v and >= 0 and <= 4096 ? (int)v : 2).ToArray();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (count > 1 << 22)
                throw new ArgumentException($"fuzz: input '{input.Name}' is too large to feed ({count} values)");
            batch.Add(input.ElementType == TensorElementType.Int64
                ? NamedTensor.FromInt64(input.Name, Enumerable.Range(0, (int)count).Select(_ => (long)random.Next(4)).ToArray(), shape)
                : NamedTensor.FromFloats(input.Name, Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray(), shape));
        }

        return batch;
    }

    private void RunCli(FuzzCase fuzzCase, StringBuilder outcome)
    {
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
    }

    private static readonly string NodeLimit = ModelMutator.NodeLimit.ToString(CultureInfo.InvariantCulture);

    private static void Cli(FuzzCase fuzzCase, string stage, StringBuilder outcome, string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        string error = stderr.ToString();
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
