using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Cli.Tests;

[TestClass]
public sealed class ConvertOpsetCommandTests
{
    private static readonly string Mnist8 = Path.Combine(AppContext.BaseDirectory, "TestData", "mnist", "mnist-8.onnx");

    [TestMethod]
    public void ConvertsTheOpset8ZooModelTo17()
    {
        string output = Path.Combine(Path.GetTempPath(), $"mlnetq-convert-{Guid.NewGuid():N}.onnx");
        try
        {
            var (code, stdout, stderr) = CliTestFiles.Run("convert-opset", "--model", Mnist8, "--opset", "17", "--output", output);
            Assert.AreEqual(0, code, stderr);
            StringAssert.Contains(stdout, "opset 8 -> 17");
            Assert.AreEqual(17L, OnnxModel.Load(output).OpsetImports[""]);
            Assert.AreEqual(8L, OnnxModel.Load(Mnist8).OpsetImports[""]);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [TestMethod]
    public void AnOpsetBeyondTheConverterIsBadInputAndWritesNothing()
    {
        string output = Path.Combine(Path.GetTempPath(), $"mlnetq-convert-{Guid.NewGuid():N}.onnx");
        var (code, _, stderr) = CliTestFiles.Run("convert-opset", "--model", Mnist8, "--opset", "30", "--output", output);
        Assert.AreEqual(2, code);
        StringAssert.StartsWith(stderr, "error: ");
        StringAssert.Contains(stderr, "from ONNX opset 8 to 30");
        Assert.IsFalse(File.Exists(output));
    }
}
