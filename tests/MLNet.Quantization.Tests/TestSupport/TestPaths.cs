using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>Locates test data: bundled models, the shared folder, Fashion-MNIST.</summary>
internal static class TestPaths
{
    public static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");

    public static readonly string[] SharedModels = ["fmnist_cnn", "fmnist_rowtf", "fmnist_mobile"];

    public static string FashionMnistDirectory => FashionMnist.DefaultDirectory;

    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetq-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
