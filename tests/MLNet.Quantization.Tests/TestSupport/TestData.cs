using System.Text.Json;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>Shared, lazily loaded real data: the Fashion-MNIST test set and a calibration slice of the training set.</summary>
internal static class TestData
{
    private static readonly Lazy<FashionMnist> TestSet = new(() => FashionMnist.Load(TestPaths.FashionMnistDirectory, train: false));
    private static readonly Lazy<FashionMnist> Calibration = new(() => FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 512));

    public static FashionMnist Test => TestSet.Value;

    public static FashionMnist Calib => Calibration.Value;

    public static double Fp32Accuracy(string model)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(TestPaths.Model(model), ".json")));
        return json.RootElement.GetProperty("fp32_test_accuracy").GetDouble();
    }
}
