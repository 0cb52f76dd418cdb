using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Onnx.VersionConversion;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Onnx.VersionConversion;

/// <summary>
/// Converts a model, runs the original and the converted form in ONNX Runtime on the same seeded random inputs and
/// asserts equal outputs; then asserts that onnx.checker (full check) accepts the converted form.
/// </summary>
internal static class ConversionEquivalence
{
    /// <summary>The machine's onnx 1.12 knows opsets up to 17 (IR 8); above, ONNX Runtime's load and outputs are the check.</summary>
    public const int CheckerMaxOpset = 17;

    public static OnnxModel AssertEquivalent(ModelProto original, int targetOpset, int seed = 42, double relativeTolerance = 1e-6)
    {
        var model = OnnxModel.Load(original.ToByteArray(), "test");
        var converted = OnnxOpsetConverter.Convert(model, targetOpset);
        Assert.AreEqual(targetOpset, converted.OpsetImports[""]);
        AssertSameOutputs(original.ToByteArray(), converted.ToBytes(), seed, relativeTolerance);
        if (targetOpset <= CheckerMaxOpset)
            AssertCheckerAccepts(converted.ToBytes());
        return converted;
    }

    /// <summary>
    /// Runs both models on the same random float inputs (declared shapes); outputs must agree. Graph optimizations are
    /// off: ORT registers its fusions per opset, so an optimized opset-8 Conv+Add and its opset-13 form may round apart.
    /// </summary>
    public static double AssertSameOutputs(byte[] a, byte[] b, int seed, double relativeTolerance)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var sa = new InferenceSession(a, options);
        using var sb = new InferenceSession(b, options);
        var random = new Random(seed);
        var feeds = sa.InputMetadata
            .Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, RandomTensor(kv.Value.Dimensions, random)))
            .ToList();
        using var ra = sa.Run(feeds);
        using var rb = sb.Run(feeds);
        double worst = 0;
        foreach (var output in ra)
        {
            var other = rb.Single(o => o.Name == output.Name);
            worst = Math.Max(worst, Compare(output, other, relativeTolerance));
        }

        return worst;
    }

    public static void AssertCheckerAccepts(byte[] model) => OnnxChecker.AssertValid(model);

    private static DenseTensor<float> RandomTensor(int[] dims, Random random)
    {
        var shape = dims.Select(d => d < 0 ? 1 : d).ToArray();
        var tensor = new DenseTensor<float>(shape);
        for (int i = 0; i < tensor.Length; i++)
            tensor.SetValue(i, (float)(random.NextDouble() * 6 - 3));
        return tensor;
    }

    private static double Compare(DisposableNamedOnnxValue a, DisposableNamedOnnxValue b, double tolerance)
    {
        switch (a.Value)
        {
            case Tensor<float> fa:
            {
                var fb = (Tensor<float>)b.Value;
                CollectionAssert.AreEqual(fa.Dimensions.ToArray(), fb.Dimensions.ToArray(), $"shape of '{a.Name}'");
                double worst = 0;
                var xa = fa.ToArray();
                var xb = fb.ToArray();
                for (int i = 0; i < xa.Length; i++)
                {
                    double err = Math.Abs(xa[i] - xb[i]) / Math.Max(1.0, Math.Abs(xa[i]));
                    Assert.IsLessThanOrEqualTo(tolerance, err, $"'{a.Name}'[{i}]: {xa[i]} vs {xb[i]}");
                    worst = Math.Max(worst, err);
                }

                return worst;
            }

            case Tensor<long> la:
                CollectionAssert.AreEqual(la.ToArray(), ((Tensor<long>)b.Value).ToArray(), $"'{a.Name}'");
                return 0;
            default:
                throw new AssertFailedException($"Output '{a.Name}' has an element type this comparison does not handle.");
        }
    }
}
