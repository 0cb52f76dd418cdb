using MLNet.Quantization.Cli;
using MLNet.Quantization.RealModels.Tests.Imaging;
using MLNet.Quantization.RealModels.Tests.Models;
using MLNet.Quantization.RealModels.Tests.Ocr;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.RealModels.Tests;

/// <summary>
/// <c>mlnet-quantize quantize --model M --calibration-data D.npz --output O</c>, in process, on each real model with
/// rendered calibration data. With <c>MLNET_REALMODELS_OUT</c> set, the .npz and int8 files stay in that folder for
/// <c>bench/real-models.sh</c>.
/// </summary>
[TestClass]
public sealed class CliQuantizeTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void QuantizesResNet18()
    {
        var raw = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: 32, normalize: false);
        using var preprocess = new OrtModel(File.ReadAllBytes(RealModelFiles.ResNetPreprocess));
        var samples = Enumerable.Range(0, raw.Count)
            .Select(i => preprocess.Run(FashionMnistPixels.Rgb(raw, i, ResNet18TransferLearningTests.ImageSize), [1, 3, 224, 224])).ToList();
        Quantize("resnet18", RealModelFiles.ResNet18, "Input247", samples, [3, 224, 224]);
    }

    [TestMethod]
    public void QuantizesTheOcrClassifier()
    {
        var (calibration, _, _) = OcrClassifierTests.Lines();
        Quantize("ppocr_cls", RealModelFiles.OcrClassifier, "x", calibration, [3, PaddleInputs.ClassifierHeight, PaddleInputs.ClassifierWidth]);
    }

    [TestMethod]
    public void QuantizesTheOcrDetectorWithAnInputShape()
    {
        using var renderer = new TextRenderer(seed: 4242);
        var pages = Enumerable.Range(0, 16).Select(_ => PaddleInputs.Detector(renderer.Page(OcrDetectorTests.PageSize, OcrDetectorTests.PageSize).Image)).ToList();
        int size = OcrDetectorTests.PageSize;
        Quantize("ppocr_det", RealModelFiles.OcrDetector, "x", pages, OcrDetectorTests.SampleShape, "--input-shape", $"x=1x3x{size}x{size}");
    }

    [TestMethod]
    public void QuantizesZooMnist8()
    {
        var raw = FashionMnist.Load(Path.GetDirectoryName(RealModelFiles.Mnist8)!, train: false, maxCount: 200, normalize: false);
        var samples = Enumerable.Range(0, raw.Count).Select(i => raw.Image(i).ToArray()).ToList();
        Quantize("mnist8", RealModelFiles.Mnist8, "Input3", samples, [1, 28, 28]);
    }

    private void Quantize(string name, string model, string input, List<float[]> samples, int[] sampleShape, params string[] extra)
    {
        string dir = Environment.GetEnvironmentVariable("MLNET_REALMODELS_OUT") is { Length: > 0 } keep ? keep : TestContext.TestRunDirectory ?? Path.GetTempPath();
        Directory.CreateDirectory(dir);
        string data = Path.Combine(dir, name + ".npz"), output = Path.Combine(dir, name + ".int8.onnx");
        File.Delete(data);
        NpzFile.Write(data, input, DefaultQuantization.Stack(samples, 0, samples.Count), [samples.Count, .. sampleShape]);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(["quantize", "--model", model, "--calibration-data", data, "--output", output, .. extra], stdout, stderr);
        TestContext.WriteLine(stdout.ToString());
        Assert.AreEqual(0, code, $"exit code; stderr: {stderr}");
        Assert.IsTrue(File.Exists(output), output);
        Assert.IsLessThan(new FileInfo(model).Length / 2, new FileInfo(output).Length, "the int8 file is less than half the float one");
        var ops = FusedGraphInspector.OptimizedOpTypes(File.ReadAllBytes(output));
        Assert.IsGreaterThan(0, ops.GetValueOrDefault("QLinearConv"), $"{name}: ORT fuses no QLinearConv: {string.Join(", ", ops)}");

        using var fp32 = new OrtModel(File.ReadAllBytes(model));
        using var int8 = new OrtModel(File.ReadAllBytes(output));
        var a = fp32.Run(samples[0], [1, .. sampleShape]);
        var b = int8.Run(samples[0], [1, .. sampleShape]);
        Assert.HasCount(a.Length, b, "int8 output size");
        Assert.IsTrue(b.All(float.IsFinite), "int8 outputs are finite");
    }
}
