using System.Text;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.Shared;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Runs one fuzz case through the library: load → quantize (dynamic, and static on a tiny random calibration set) →
/// inspect (<see cref="FusedGraphInspector"/>). Every step must succeed or throw one of the library's typed exceptions.
/// Returns an outcome label such as <c>load:ok dynamic:ok static:ok</c> or <c>load:OnnxFormatException</c>; anything
/// else fails the test with the case's label and the exception. The same cases go through the CLI in
/// MLNet.Quantization.Cli.Tests (CliFuzzTests).
/// </summary>
internal static class FuzzHarness
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

    public static string Run(FuzzCase fuzzCase)
    {
        var outcome = new StringBuilder();
        OnnxModel? model = Stage(fuzzCase, "load", outcome, () => OnnxModel.Load(fuzzCase.Bytes, $"case{fuzzCase.Index}.onnx"));
        if (model is not null)
        {
            Stage(fuzzCase, "dynamic", outcome, () => QuantizeAndInspect(model, dynamic: true));
            Stage(fuzzCase, "static", outcome, () => QuantizeAndInspect(model, dynamic: false));
        }

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
}
