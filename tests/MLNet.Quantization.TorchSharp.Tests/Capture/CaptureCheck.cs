using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.TorchSharp.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>Captures a module, runs the ONNX model in ONNX Runtime and the module in eval mode on the same random inputs, and compares.</summary>
internal static class CaptureCheck
{
    public const double RelativeTolerance = 1e-5;

    /// <summary>
    /// Captures at batch 2 and compares on batches 2, 3 and 1. Returns the worst norm-relative error seen.
    /// The module's training flag must be the same after capture as before.
    /// </summary>
    public static double AssertMatches(nn.Module<Tensor, Tensor> module, long[] sampleShape, int seed = 7)
    {
        TorchSharpRuntime.EnsureLoaded();
        bool wasTraining = module.training;
        var model = TorchSharpExporter.Capture(module, [2, .. sampleShape]);
        Assert.AreEqual(wasTraining, module.training, "capture must leave the training flag as it was");
        double worst = 0;
        using var session = new InferenceSession(model.ToBytes());
        module.eval();
        try
        {
            manual_seed(seed);
            foreach (int batch in new[] { 2, 3, 1 })
                worst = Math.Max(worst, Compare(module, session, [batch, .. sampleShape]));
        }
        finally
        {
            module.train(wasTraining);
        }

        Console.WriteLine($"worst norm-relative error over batches 2, 3, 1: {worst:E2}");
        return worst;
    }

    /// <summary>Runs both on one random batch of <paramref name="shape"/> (the module must be in eval mode) and asserts closeness.</summary>
    public static double Compare(nn.Module<Tensor, Tensor> module, InferenceSession session, long[] shape)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(shape) * 2;
        var expectedTensor = module.forward(x);
        float[] expected = expectedTensor.contiguous().data<float>().ToArray();
        var (actual, actualShape) = RunOrt(session, x.data<float>().ToArray(), shape);
        CollectionAssert.AreEqual(expectedTensor.shape, actualShape, "output shape");
        return AssertClose(expected, actual, $"batch {shape[0]}");
    }

    public static (float[] Values, long[] Shape) RunOrt(InferenceSession session, float[] input, long[] shape, string inputName = "input")
    {
        var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(input, shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
        var output = results[0].AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    /// <summary>‖a − b‖ / ‖b‖ ≤ 1e-5, and every element within 1e-5·(|b| + max|b|) + 1e-6.</summary>
    public static double AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual);
        double diff = 0, norm = 0, maxAbs = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(actual[i] - expected[i], 2);
            norm += Math.Pow(expected[i], 2);
            maxAbs = Math.Max(maxAbs, Math.Abs(expected[i]));
        }

        double relative = norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
        Assert.IsLessThanOrEqualTo(RelativeTolerance, relative, $"{what}: norm-relative error");
        for (int i = 0; i < expected.Length; i++)
        {
            double slack = (RelativeTolerance * (Math.Abs(expected[i]) + maxAbs)) + 1e-6;
            if (Math.Abs(actual[i] - expected[i]) > slack)
                Assert.Fail($"{what}: element {i} is {actual[i]} in ONNX Runtime but {expected[i]} in TorchSharp");
        }

        return relative;
    }

    /// <summary>Gives a BatchNorm non-trivial affine parameters and running statistics from a few training-mode forwards.</summary>
    public static void Randomize(BatchNorm bn, long[] inputShape)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            bn.weight?.uniform_(0.5, 1.5);
            bn.bias?.uniform_(-0.5, 0.5);
        }

        bn.train();
        for (int i = 0; i < 5; i++)
        {
            using var noGrad = no_grad();
            bn.forward((randn(inputShape) * 3) + 1.5);
        }
    }

    /// <summary>The op types of the captured graph, in topological order.</summary>
    public static string[] Ops(nn.Module<Tensor, Tensor> module, params long[] inputShape) =>
        TorchSharpExporter.CaptureGraph(module, inputShape).TopologicalOrder().Select(n => n.OpType).ToArray();

    public static OnnxModel Capture(nn.Module<Tensor, Tensor> module, params long[] inputShape) => TorchSharpExporter.Capture(module, inputShape);
}
