using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

/// <summary>Bundled models and Fashion-MNIST slices for the QAT tests.</summary>
internal static class QatTestData
{
    public static readonly string[] Models = ["fmnist_cnn", "fmnist_mobile", "fmnist_rowtf"];

    public static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");

    public static FashionMnist Test(int? count) => FashionMnist.Load(FashionMnist.DefaultDirectory, train: false, maxCount: count);

    public static FashionMnist Train(int? count) => FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: count);

    /// <summary>Images [start, start + count) of <paramref name="data"/>.</summary>
    public static float[] Images(FashionMnist data, int start, int count) => data.Images.AsSpan(start * data.ImageSize, count * data.ImageSize).ToArray();

    /// <summary>Training images used to calibrate, for post-training quantization and before QAT.</summary>
    public const int CalibrationCount = 512;

    /// <summary>A config with 4-bit weights: int8 storage (ONNX Runtime's kernels), quantized range [-8, 7].</summary>
    public static QuantizationConfig FourBitWeights(QuantizationConfig config) =>
        config with { Weight = config.Weight! with { QuantMin = -8, QuantMax = 7 } };

    /// <summary>Top-1 accuracy of <paramref name="model"/> in ONNX Runtime on <paramref name="test"/>.</summary>
    public static double Accuracy(OnnxModel model, FashionMnist test)
    {
        using var runner = new ModelRunner(model);
        return runner.Accuracy(test.Images, test.Labels);
    }

    /// <summary>Accuracy after post-training quantization with <paramref name="config"/>, calibrated on the first training images.</summary>
    public static double PostTrainingAccuracy(OnnxModel model, QuantizationConfig config, FashionMnist train, FashionMnist test)
    {
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(config));
        prepared.Calibrate(Batches(train, 0, CalibrationCount));
        return Accuracy(prepared.Convert().Model, test);
    }

    /// <summary>Calibration batches of the model input "input" [n, 1, 28, 28].</summary>
    public static IEnumerable<IReadOnlyList<NamedTensor>> Batches(FashionMnist data, int start, int count, int batchSize = 64)
    {
        for (int s = start; s < start + count; s += batchSize)
        {
            int n = Math.Min(batchSize, start + count - s);
            yield return [NamedTensor.FromFloats("input", Images(data, s, n), n, 1, 28, 28)];
        }
    }
}
