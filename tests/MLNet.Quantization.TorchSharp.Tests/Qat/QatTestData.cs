using MLNet.Quantization.Calibration;
using MLNet.Quantization.Data;

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
