namespace MLNet.Quantization.Cli.Tests;

/// <summary>Paths the CLI tests share.</summary>
internal static class CliTestFiles
{
    /// <summary>A bundled model, by name (<c>fmnist_cnn</c>, ...).</summary>
    public static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");
}
