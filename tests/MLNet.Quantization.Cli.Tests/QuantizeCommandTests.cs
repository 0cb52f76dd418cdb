using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Cli;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Cli.Tests;

[TestClass]
public sealed class QuantizeCommandTests
{
    private static string _dir = "";
    private static string _calibration = "";
    private static FashionMnist _test = null!;

    private static string Model(string name) => CliTestFiles.Model(name);

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _dir = Path.Combine(Path.GetTempPath(), "mlnetq-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var calib = FashionMnist.Load(train: true, maxCount: 256);
        _calibration = Path.Combine(_dir, "calib.npy");
        WriteNpy(_calibration, calib.Images, [calib.Count, 1, 28, 28]);
        _test = FashionMnist.Load(train: false, maxCount: 500);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_dir, true);

    /// <summary>Writes a float32 C-order .npy (format 1.0): magic, version, header length, dict header padded to 64 bytes.</summary>
    internal static void WriteNpy(string path, float[] data, int[] shape)
    {
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(Encoding.Latin1.GetBytes(header));
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        f.Write(bytes);
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTestFiles.Run(args);

    private static double Agreement(string floatModel, string quantizedModel)
    {
        using var f = new InferenceSession(floatModel);
        using var q = new InferenceSession(quantizedModel);
        var x = new DenseTensor<float>(_test.Images, [_test.Count, 1, 28, 28]);
        using var rf = f.Run([NamedOnnxValue.CreateFromTensor("input", x)]);
        using var rq = q.Run([NamedOnnxValue.CreateFromTensor("input", x)]);
        var a = rf.Single().AsTensor<float>().ToArray();
        var b = rq.Single().AsTensor<float>().ToArray();
        int same = 0;
        for (int i = 0; i < _test.Count; i++)
        {
            if (Runtime.ModelRunner.ArgMax(a.AsSpan(i * 10, 10)) == Runtime.ModelRunner.ArgMax(b.AsSpan(i * 10, 10)))
                same++;
        }

        return (double)same / _test.Count;
    }

    [TestMethod]
    public void QatModeTrainsOnASliceAndWritesAQdqModel()
    {
        var train = FashionMnist.Load(train: true, maxCount: 768);
        string data = Path.Combine(_dir, "train.npy");
        string labels = Path.Combine(_dir, "train_labels.npy");
        WriteNpy(data, train.Images.AsSpan(256 * 784).ToArray(), [512, 1, 28, 28]);
        OtherCommandsTests.WriteInt64Npy(labels, train.Labels.Skip(256).Select(l => (long)l).ToArray());
        string output = Path.Combine(_dir, "cnn_qat.onnx");
        string json = Path.Combine(_dir, "cnn_qat.json");

        var (code, stdout, stderr) = CliTestFiles.RunQat("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--mode", "qat", "--calibration-data", _calibration,
            "--train-data", data, "--train-labels", labels, "--epochs", "1", "--learning-rate", "1e-4", "--json", json);

        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "epoch 1: mean loss");
        Assert.IsTrue(File.Exists(output));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual("static", doc.RootElement.GetProperty("mode").GetString());
        Assert.AreEqual(2, doc.RootElement.GetProperty("quantized_nodes").GetProperty("Conv").GetInt32()); // stem conv float
        using (var runner = new Runtime.ModelRunner(File.ReadAllBytes(output)))
        {
            double accuracy = runner.Accuracy(_test.Images, _test.Labels);
            Assert.IsGreaterThan(0.88, accuracy, $"QAT int8 accuracy on {_test.Count} test images: {accuracy}");
        }

        string badLabels = Path.Combine(_dir, "bad_labels.npy");
        OtherCommandsTests.WriteInt64Npy(badLabels, Enumerable.Repeat(12L, 512).ToArray());
        var (badCode, _, badErr) = CliTestFiles.RunQat("quantize", "--model", Model("fmnist_cnn"), "--output", Path.Combine(_dir, "bad.onnx"), "--mode", "qat", "--calibration-data", _calibration,
            "--train-data", data, "--train-labels", badLabels, "--epochs", "1", "--learning-rate", "1e-4");
        Assert.AreEqual(2, badCode, badErr);
        StringAssert.Contains(badErr, "--train-labels: label 12");
        StringAssert.Contains(badErr, "outside the model's 10 classes");
    }

    [TestMethod]
    public void NarrowConvsOptionQuantizesTheStemConvToo()
    {
        string output = Path.Combine(_dir, "cnn_all_int8.onnx");
        string json = Path.Combine(_dir, "cnn_all.json");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--narrow-convs", "int8", "--json", json);
        Assert.AreEqual(0, code, stderr);
        Assert.DoesNotContain("KeepNarrowConvsInFloat", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(3, doc.RootElement.GetProperty("quantized_nodes").GetProperty("Conv").GetInt32());

        var (badCode, _, badErr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--narrow-convs", "fp16");
        Assert.AreEqual(2, badCode);
        StringAssert.Contains(badErr, "--narrow-convs");
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    public void ElementwiseOptionLeavesModelsWithoutElementwiseBlocksAsTheyAre(string name)
    {
        // neither model has an Add or Mul outside a conv pattern, so --elementwise int8 must write the same bytes
        string plain = Path.Combine(_dir, name + "_plain.onnx");
        string elementwise = Path.Combine(_dir, name + "_elementwise.onnx");
        var (code, _, stderr) = Run("quantize", "--model", Model(name), "--output", plain, "--calibration-data", _calibration);
        Assert.AreEqual(0, code, stderr);
        (code, _, stderr) = Run("quantize", "--model", Model(name), "--output", elementwise, "--calibration-data", _calibration, "--elementwise", "int8");
        Assert.AreEqual(0, code, stderr);
        CollectionAssert.AreEqual(File.ReadAllBytes(plain), File.ReadAllBytes(elementwise));

        var (badCode, _, badErr) = Run("quantize", "--model", Model(name), "--output", elementwise, "--calibration-data", _calibration, "--elementwise", "int4");
        Assert.AreEqual(2, badCode);
        StringAssert.Contains(badErr, "--elementwise");
    }

    [TestMethod]
    public void BiasCorrectionCountsTheCorrectedLayersInTextAndJsonAndNeedsStaticMode()
    {
        string output = Path.Combine(_dir, "cnn_bias_corrected.onnx");
        string json = Path.Combine(_dir, "cnn_bias_corrected.json");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--bias-correction", "--json", json);
        Assert.AreEqual(0, code, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        int corrected = doc.RootElement.GetProperty("bias_corrected_layers").GetInt32();
        Assert.AreEqual(doc.RootElement.GetProperty("quantized_nodes").EnumerateObject().Where(p => p.Name is "Conv" or "Gemm" or "MatMul").Sum(p => p.Value.GetInt32()), corrected);
        StringAssert.Contains(stdout, $"bias correction: {corrected} layers");
        Assert.IsGreaterThanOrEqualTo(0.97, Agreement(Model("fmnist_cnn"), output));

        var (badCode, _, badErr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--mode", "dynamic", "--bias-correction");
        Assert.AreEqual(2, badCode);
        StringAssert.Contains(badErr, "--bias-correction works with --mode static");
    }

    [TestMethod]
    public void CrossLayerEqualizationCountsThePairsInTextAndJsonAndCompareMatchesEveryPoint()
    {
        string output = Path.Combine(_dir, "cnn_equalized.onnx");
        string json = Path.Combine(_dir, "cnn_equalized.json");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--cross-layer-equalization", "--json", json);
        Assert.AreEqual(0, code, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(1, doc.RootElement.GetProperty("equalized_pairs").GetInt32(), "fmnist_cnn's Conv → Relu → MaxPool → Conv");
        StringAssert.Contains(stdout, "cross-layer equalization: 1 conv pairs");
        Assert.IsGreaterThanOrEqualTo(0.97, Agreement(Model("fmnist_cnn"), output));

        // compare rebuilds the equalized float graph from the recorded reference: nothing unmatched
        string compareJson = Path.Combine(_dir, "cnn_equalized.compare.json");
        var (compareCode, _, compareErr) = Run("compare", "--float", Model("fmnist_cnn"), "--quantized", output, "--data", _calibration, "--json", compareJson);
        Assert.AreEqual(0, compareCode, compareErr);
        using var compared = JsonDocument.Parse(File.ReadAllText(compareJson));
        Assert.AreEqual(0, compared.RootElement.GetProperty("unmatched").GetArrayLength());

        // not asked for: null in the JSON, no line in the text
        string plainJson = Path.Combine(_dir, "cnn_plain.json");
        var (plainCode, plainOut, plainErr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", Path.Combine(_dir, "cnn_plain.onnx"), "--calibration-data", _calibration, "--json", plainJson);
        Assert.AreEqual(0, plainCode, plainErr);
        using var plain = JsonDocument.Parse(File.ReadAllText(plainJson));
        Assert.AreEqual(JsonValueKind.Null, plain.RootElement.GetProperty("equalized_pairs").ValueKind);
        Assert.DoesNotContain("cross-layer equalization", plainOut);
    }

    [TestMethod]
    public void SmoothQuantCountsTheLayersInTextAndJsonAndRefusesBadAlphasAndDynamicMode()
    {
        string output = Path.Combine(_dir, "rowtf_smoothed.onnx");
        string json = Path.Combine(_dir, "rowtf_smoothed.json");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_rowtf"), "--output", output, "--calibration-data", _calibration, "--smooth-quant", "0.5", "--json", json);
        Assert.AreEqual(0, code, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
            Assert.AreEqual(14, doc.RootElement.GetProperty("smoothed_layers").GetInt32());
        StringAssert.Contains(stdout, "SmoothQuant: 14 MatMul/Gemm layers smoothed");
        Assert.IsGreaterThanOrEqualTo(0.97, Agreement(Model("fmnist_rowtf"), output));

        // compare: the smoothed tensors are listed as unmatched (here every quantized activation feeds a smoothed linear,
        // all 13 of them QGemm and the head's Gemm), the model output still compared
        string compareJson = Path.Combine(_dir, "rowtf_smoothed.compare.json");
        var (compareCode, _, compareErr) = Run("compare", "--float", Model("fmnist_rowtf"), "--quantized", output, "--data", _calibration, "--json", compareJson);
        Assert.AreEqual(0, compareCode, compareErr);
        using (var compared = JsonDocument.Parse(File.ReadAllText(compareJson)))
        {
            var unmatched = compared.RootElement.GetProperty("unmatched").EnumerateArray().ToList();
            Assert.AreEqual(14, unmatched.Count(u => u.GetProperty("reason").GetString()!.StartsWith("smoothed by SmoothQuant", StringComparison.Ordinal)), "one smoothed weight per layer");
            Assert.IsTrue(unmatched.Any(u => u.GetProperty("name").GetString() == "/ReduceMean_output_0_smoothed"), "the smoothed activations are named");
            Assert.IsGreaterThan(0, compared.RootElement.GetProperty("outputs").GetArrayLength());
        }

        foreach (var (args, message) in new[]
        {
            (new[] { "--smooth-quant", "0" }, "--smooth-quant must be an alpha in (0, 1]"),
            (new[] { "--smooth-quant", "1.5" }, "--smooth-quant must be an alpha in (0, 1]"),
            (new[] { "--smooth-quant", "0.5", "--mode", "dynamic" }, "--smooth-quant works with --mode static"),
        })
        {
            var (badCode, _, badErr) = Run([.. new[] { "quantize", "--model", Model("fmnist_rowtf"), "--output", Path.Combine(_dir, "bad.onnx"), "--calibration-data", _calibration }, .. args]);
            Assert.AreNotEqual(0, badCode);
            StringAssert.Contains(badErr, "error: " + message);
        }
    }

    [TestMethod]
    public void StaticQuantizeWritesAModelThatAgreesWithTheFloatOne()
    {
        string output = Path.Combine(_dir, "cnn_int8.onnx");
        string json = Path.Combine(_dir, "cnn.json");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", _calibration, "--json", json);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "Conv 2");
        StringAssert.Contains(stdout, "KeepNarrowConvsInFloat: 1 input channel(s)"); // the stem conv, and why
        StringAssert.Contains(stdout, "smaller");
        Assert.IsGreaterThanOrEqualTo(0.97, Agreement(Model("fmnist_cnn"), output));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.AreEqual("static", root.GetProperty("mode").GetString());
        Assert.AreEqual(2, root.GetProperty("quantized_nodes").GetProperty("Conv").GetInt32());
        Assert.AreEqual(256L, root.GetProperty("calibration_samples").GetInt64());
        Assert.AreEqual(new FileInfo(output).Length, root.GetProperty("int8_bytes").GetInt64());
        Assert.IsGreaterThan(3.5, root.GetProperty("compression_ratio").GetDouble());
        // what ORT fuses, counted from its optimized graph: the two quantized convs and the two Gemms
        StringAssert.Contains(stdout, "ONNX Runtime int8 kernels: QLinearConv 2");
        Assert.AreEqual(2, root.GetProperty("ort_int8_kernels").GetProperty("QLinearConv").GetInt32());
        Assert.AreEqual(0, root.GetProperty("ort_unfused_quantized").GetArrayLength());
    }

    [TestMethod]
    public void DynamicQuantizeNeedsNoCalibrationData()
    {
        string output = Path.Combine(_dir, "rowtf_dyn.onnx");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_rowtf"), "--output", output, "--mode", "dynamic");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "mode: dynamic");
        Assert.IsGreaterThanOrEqualTo(0.97, Agreement(Model("fmnist_rowtf"), output));
    }

    [TestMethod]
    [DataRow("minmax", "false")]
    [DataRow("percentile", "true")]
    [DataRow("entropy", "true")]
    [DataRow("moving-average", "false")]
    public void ObserversPerChannelReduceRangeAndExclude(string observer, string perChannel)
    {
        string output = Path.Combine(_dir, $"mobile_{observer}.onnx");
        var (code, stdout, stderr) = Run("quantize", "--model", Model("fmnist_mobile"), "--output", output, "--calibration-data", _calibration,
            "--activation-observer", observer, "--per-channel", perChannel, "--reduce-range", "--exclude", "Gemm", "--calibration-samples", "128");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "Gemm");
        StringAssert.Contains(stdout, "kept in float");
        Assert.IsGreaterThanOrEqualTo(0.9, Agreement(Model("fmnist_mobile"), output));
    }

    [TestMethod]
    public void BadInputExitsWithCode2AndOneErrorLineAndNoOutputFile()
    {
        string output = Path.Combine(_dir, "never.onnx");
        string garbage = Path.Combine(_dir, "garbage.onnx");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5]);
        string wrongShape = Path.Combine(_dir, "wrong.npy");
        WriteNpy(wrongShape, new float[2 * 27 * 28], [2, 1, 27, 28]);
        var cases = new (string[] Args, string Expect)[]
        {
            (["quantize", "--model", Path.Combine(_dir, "missing.onnx"), "--output", output, "--mode", "dynamic"], "missing.onnx"),
            (["quantize", "--model", garbage, "--output", output, "--mode", "dynamic"], "garbage.onnx"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--calibration-data", wrongShape], "wrong.npy"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--no-such-option"], "--no-such-option"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--mode", "fast"], "fast"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output], "--calibration-data"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", Path.Combine(_dir, "no", "dir", "x.onnx"), "--mode", "dynamic"], "does not exist"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--mode", "dynamic", "--exclude", "NoSuchNode"], "NoSuchNode"),
            (["quantize", "--model", Model("fmnist_cnn"), "--output", output, "--mode", "qat", "--calibration-data", _calibration], "mlnet-quantize-qat"),
        };
        foreach (var (args, expect) in cases)
        {
            var (code, _, stderr) = Run(args);
            string label = string.Join(' ', args);
            CliAssert.IsBadInput(code, stderr, expect, label);
            Assert.IsFalse(File.Exists(output), label);
            Assert.IsEmpty(Directory.GetFiles(_dir, "*.tmp"), label);
        }
    }
}
