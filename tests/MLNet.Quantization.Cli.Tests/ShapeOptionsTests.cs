using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// <c>--batch-size</c> and <c>--input-shape</c> of <c>quantize</c> on the synthetic models of <c>TestData/shapes</c>
/// (made by its <c>make_models.py</c>): a batch that must stay fixed, and symbolic H×W.
/// </summary>
[TestClass]
public sealed class ShapeOptionsTests
{
    private static string _dir = "";

    private static string ShapesModel(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "shapes", name + ".onnx");

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-shapes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    private static string Data(string name, int[] shape, int seed)
    {
        var rng = new Random(seed);
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(rng.NextDouble() * 2 - 1);
        string path = Path.Combine(_dir, name + ".npy");
        QuantizeCommandTests.WriteNpy(path, values, shape);
        return path;
    }

    [TestMethod]
    public void ABatchBakedIntoAnExpandStaysFixedAndCalibratesOneSamplePerRun()
    {
        string output = Path.Combine(_dir, "expand.int8.onnx");
        string json = Path.Combine(_dir, "expand.json");
        var (code, stdout, stderr) = CliTestFiles.Run("quantize", "--model", ShapesModel("fixed_batch_expand"), "--output", output,
            "--calibration-data", Data("expand_calib", [20, 4], 1), "--batch-size", "8", "--json", json);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "stays fixed at 1");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(1, doc.RootElement.GetProperty("calibration_batch_size").GetInt32());
        Assert.AreEqual(1, doc.RootElement.GetProperty("batch").GetProperty("fixed_size").GetInt32());
        StringAssert.Contains(doc.RootElement.GetProperty("batch").GetProperty("note").GetString(), "concat");
        Assert.AreEqual(20, doc.RootElement.GetProperty("calibration_samples").GetInt64());
    }

    [TestMethod]
    public void SymbolicHeightAndWidthCalibrateAtTheGivenShapeWhichTheResultDeclares()
    {
        string output = Path.Combine(_dir, "hw.int8.onnx");
        string json = Path.Combine(_dir, "hw.json");
        var (code, _, stderr) = CliTestFiles.Run("quantize", "--model", ShapesModel("symbolic_hw"), "--output", output,
            "--calibration-data", Data("hw_calib", [12, 3, 16, 12], 2), "--input-shape", "x=4x3x16x12", "--batch-size", "4", "--json", json);
        Assert.AreEqual(0, code, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.AreEqual(4, doc.RootElement.GetProperty("calibration_batch_size").GetInt32());
            Assert.AreEqual(JsonValueKind.Null, doc.RootElement.GetProperty("batch").GetProperty("fixed_size").ValueKind);
        }

        // As with ApplyOnnxModel's shape dictionary, the given shape is the model's from then on: constants were folded at it.
        using var session = new InferenceSession(output);
        CollectionAssert.AreEqual(new[] { 3, 16, 12 }, session.InputMetadata["x"].Dimensions.Skip(1).ToArray());
        var x = new DenseTensor<float>(new float[4 * 3 * 16 * 12], [4, 3, 16, 12]);
        using var result = session.Run([NamedOnnxValue.CreateFromTensor("x", x)]);
        CollectionAssert.AreEqual(new[] { 4, 5 }, result.Single().AsTensor<float>().Dimensions.ToArray());
    }

    [TestMethod]
    [DataRow("x=4x3xabc", "--input-shape")]
    [DataRow("x", "--input-shape")]
    [DataRow("image=4x3x16x12", "'image'")]
    [DataRow("x=4x3x16", "rank")]
    public void ABadInputShapeIsExitTwoNamingTheProblem(string shape, string expected)
    {
        string output = Path.Combine(_dir, "bad.int8.onnx");
        var (code, _, stderr) = CliTestFiles.Run("quantize", "--model", ShapesModel("symbolic_hw"), "--output", output,
            "--calibration-data", Data("bad_calib", [4, 3, 16, 12], 3), "--input-shape", shape);
        Assert.AreEqual(2, code, stderr);
        StringAssert.StartsWith(stderr, "error:");
        StringAssert.Contains(stderr, expected);
        Assert.IsFalse(File.Exists(output));
    }

    [TestMethod]
    [DataRow("0")]
    [DataRow("-3")]
    public void ANonPositiveBatchSizeIsExitTwo(string size)
    {
        var (code, _, stderr) = CliTestFiles.Run("quantize", "--model", ShapesModel("symbolic_hw"), "--output", Path.Combine(_dir, "b.onnx"),
            "--calibration-data", Data("b_calib", [4, 3, 16, 12], 4), "--batch-size", size);
        Assert.AreEqual(2, code, stderr);
        StringAssert.Contains(stderr, "--batch-size");
    }
}
