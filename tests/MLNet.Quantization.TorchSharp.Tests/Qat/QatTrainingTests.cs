using MLNet.Quantization.Samples;
using Torch = TorchSharp.torch;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

/// <summary>
/// QAT on real Fashion-MNIST, reduced for CI: calibrate on 512 training images, fine-tune one epoch on the next
/// 2,000 with Adam (1e-4), evaluate the converted int8 model in ONNX Runtime on the first 2,000 test images.
/// </summary>
[TestClass]
public sealed class QatTrainingTests
{
    private const int Calibration = QatTestData.CalibrationCount;
    private const int TrainCount = 2000;
    private const int TestCount = 2000;

    private static FashionMnist _train = null!;
    private static FashionMnist _test = null!;
    private static float[] _trainImages = null!;
    private static int[] _trainLabels = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        _train = QatTestData.Train(Calibration + TrainCount);
        _test = QatTestData.Test(TestCount);
        _trainImages = QatTestData.Images(_train, Calibration, TrainCount);
        _trainLabels = _train.Labels.AsSpan(Calibration, TrainCount).ToArray();
    }

    [TestMethod]
    public void QatHoldsOrImprovesInt8AccuracyOfTheCnn()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn"));
        double ptq = PostTrainingAccuracy(model, X86Quantizer.GetDefaultConfig());

        using var qat = QuantizationAwareTraining.Prepare(model);
        qat.Calibrate(QatTestData.Batches(_train, 0, Calibration));
        var result = qat.Train(_trainImages, _trainLabels, new QatTrainingOptions { LearningRate = 1e-4 });
        var quantized = qat.Convert();
        double accuracy = Accuracy(quantized.Model);

        Console.WriteLine($"fmnist_cnn on {TestCount} test images: PTQ int8 {ptq:P2}, QAT int8 {accuracy:P2}, loss {result.EpochLosses[0]:F4}, {result.Elapsed.TotalSeconds:F1} s");
        Assert.AreEqual(TrainCount / 64 + 1, result.Batches);
        Assert.IsGreaterThanOrEqualTo(ptq, accuracy);
    }

    [TestMethod]
    public void QatRecoversAtLeastHalfOfWhat4BitWeightsLose()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn"));
        double fp32 = Accuracy(model);
        double ptq4 = PostTrainingAccuracy(model, QatTestData.FourBitWeights(X86Quantizer.GetDefaultConfig()));

        using var qat = QuantizationAwareTraining.Prepare(model, QatTestData.FourBitWeights(X86Quantizer.GetDefaultConfig(isQat: true)));
        qat.Calibrate(QatTestData.Batches(_train, 0, Calibration));
        qat.Train(_trainImages, _trainLabels, new QatTrainingOptions { LearningRate = 1e-4 });
        var quantized = qat.Convert();
        double qat4 = Accuracy(quantized.Model);

        Console.WriteLine($"fmnist_cnn on {TestCount} test images: fp32 {fp32:P2}, PTQ 4-bit {ptq4:P2}, QAT 4-bit {qat4:P2}");
        Assert.IsLessThan(fp32, ptq4, "4-bit weights should cost accuracy after post-training quantization");
        Assert.IsGreaterThanOrEqualTo(ptq4 + (fp32 - ptq4) / 2, qat4);
        // the weights really are 4-bit: every int8 weight initializer stays within [-8, 7]
        var weights = Graph.OnnxGraph.FromModel(quantized.Model).Initializers.Values.Where(t => t.ElementType == Graph.TensorElementType.Int8).ToList();
        Assert.IsNotEmpty(weights);
        Assert.IsTrue(weights.All(t => t.ToArray<sbyte>().All(v => v is >= -8 and <= 7)));
        Assert.IsTrue(weights.Any(t => t.ToArray<sbyte>().Contains((sbyte)-8) || t.ToArray<sbyte>().Contains((sbyte)7)));
    }

    [TestMethod]
    public void QatConvertWritesTheSameQdqPlacementAsPostTrainingQuantization()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_mobile"));
        var ptq = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        ptq.Calibrate(QatTestData.Batches(_train, 0, Calibration));
        var expected = ptq.Convert();

        using var qat = QuantizationAwareTraining.Prepare(model);
        qat.Train(_trainImages[..(256 * 784)], _trainLabels[..256], new QatTrainingOptions { LearningRate = 1e-5 });
        var actual = qat.Convert();

        CollectionAssert.AreEquivalent(OpTypes(expected.Model), OpTypes(actual.Model));
        CollectionAssert.AreEquivalent(expected.Report.QuantizedNodesByOpType.ToList(), actual.Report.QuantizedNodesByOpType.ToList());
        Assert.IsGreaterThan(0.85, Accuracy(actual.Model));
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    public void FakeQuantizedModuleSimulatesTheConvertedInt8Model(string name)
    {
        const int count = 500;
        using var qat = QuantizationAwareTraining.Prepare(OnnxModel.Load(QatTestData.ModelPath(name)));
        qat.Calibrate(QatTestData.Batches(_train, 0, Calibration));
        using var runner = new Runtime.ModelRunner(qat.Convert().Model);
        var int8 = runner.Run(QatTestData.Images(_test, 0, count), count);

        qat.Module.eval();
        float[] simulated;
        using (Torch.no_grad())
        using (var x = Torch.tensor(QatTestData.Images(_test, 0, count), count, 1, 28, 28))
        using (var y = qat.Module.forward(x))
            simulated = y.data<float>().ToArray();

        int agree = Enumerable.Range(0, count).Count(i =>
            Runtime.ModelRunner.ArgMax(int8.AsSpan(i * 10, 10)) == Runtime.ModelRunner.ArgMax(simulated.AsSpan(i * 10, 10)));
        float range = int8.Max(MathF.Abs);
        float worst = int8.Zip(simulated, (a, b) => MathF.Abs(a - b)).Max();
        Console.WriteLine($"{name}: top-1 agreement {agree}/{count}, max |fake quant − int8| {worst} on logits up to {range}");
        Assert.IsGreaterThanOrEqualTo(0.99 * count, agree);
        Assert.IsLessThan(0.05f * range, worst);
    }

    [TestMethod]
    public void DynamicQatConvertsToDynamicQuantizeMatMulThatOnnxRuntimeRuns()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn"));
        using var qat = QuantizationAwareTraining.Prepare(model, X86Quantizer.GetDefaultConfig(isQat: true, isDynamic: true));
        Assert.IsFalse(qat.Prepared.NeedsCalibration);
        qat.Train(_trainImages[..(512 * 784)], _trainLabels[..512], new QatTrainingOptions { LearningRate = 1e-4 });
        var quantized = qat.Convert();

        var ops = OpTypes(quantized.Model);
        Assert.AreEqual("dynamic", quantized.Report.Mode);
        Assert.Contains("DynamicQuantizeMatMul", ops);
        Assert.DoesNotContain("QuantizeLinear", ops);
        Assert.IsGreaterThan(0.88, Accuracy(quantized.Model));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void QatOfTheTransformerTrainsLayerNormAndAttentionAndConverts(bool dynamic)
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_rowtf"));
        double fp32 = Accuracy(model);
        using var qat = QuantizationAwareTraining.Prepare(model, X86Quantizer.GetDefaultConfig(isQat: true, isDynamic: dynamic));
        if (!dynamic)
            qat.Calibrate(QatTestData.Batches(_train, 0, Calibration));
        var layerNormScale = qat.Module.Weights["blocks.0.n1.weight"];
        var before = layerNormScale.data<float>().ToArray();
        qat.Train(_trainImages[..(512 * 784)], _trainLabels[..512], new QatTrainingOptions { LearningRate = 1e-4 });
        var quantized = qat.Convert();
        double accuracy = Accuracy(quantized.Model);

        Console.WriteLine($"fmnist_rowtf {(dynamic ? "dynamic" : "static")} QAT: fp32 {fp32:P2}, int8 {accuracy:P2}");
        CollectionAssert.AreNotEqual(before, layerNormScale.data<float>().ToArray(), "the LayerNorm scale is a trained parameter");
        Assert.AreEqual(dynamic ? "dynamic" : "static", quantized.Report.Mode);
        Assert.AreEqual(13, quantized.Report.QuantizedNodesByOpType["MatMul"]);
        Assert.IsGreaterThan(fp32 - 0.01, accuracy);
    }

    [TestMethod]
    public void TrainingIsDeterministicAndAnIDataViewGivesTheSameWeights()
    {
        var model = OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn"));
        var images = _trainImages[..(192 * 784)];
        var labels = _trainLabels[..192];
        var options = new QatTrainingOptions { LearningRate = 1e-3, BatchSize = 32, Seed = 7 };

        var fromArrays = TrainAndConvert(model, m => m.Train(images, labels, options));
        var again = TrainAndConvert(model, m => m.Train(images, labels, options));
        var mlContext = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, labels.Length).Select(i => new Row { Features = images.AsSpan(i * 784, 784).ToArray(), Label = labels[i] });
        var view = mlContext.Data.LoadFromEnumerable(rows);
        var fromView = TrainAndConvert(model, m => m.Train(view, nameof(Row.Features), nameof(Row.Label), options));

        CollectionAssert.AreEqual(fromArrays, again);
        CollectionAssert.AreEqual(fromArrays, fromView);
        var untrained = TrainAndConvert(model, _ => { });
        CollectionAssert.AreNotEqual(untrained, fromArrays, "training should change the quantized weights");
    }

    [TestMethod]
    public void ProgressIsReportedPerBatchAndCancellationStopsTraining()
    {
        using var qat = QuantizationAwareTraining.Prepare(OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn")));
        var reports = new List<QatProgress>();
        var progress = new SynchronousProgress(reports.Add);
        var result = qat.Train(_trainImages[..(100 * 784)], _trainLabels[..100], new QatTrainingOptions { Epochs = 2, BatchSize = 40 }, progress);

        Assert.HasCount(6, reports);
        Assert.AreEqual(6, result.Batches);
        Assert.HasCount(2, result.EpochLosses);
        Assert.IsTrue(reports[2].IsEndOfEpoch && reports[5].IsEndOfEpoch && !reports[0].IsEndOfEpoch);
        Assert.AreEqual(2, reports[^1].Epoch);

        using var cancel = new CancellationTokenSource();
        var stopping = new SynchronousProgress(p => cancel.Cancel());
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            qat.Train(_trainImages[..(100 * 784)], _trainLabels[..100], new QatTrainingOptions { BatchSize = 10 }, stopping, cancel.Token));
    }

    [TestMethod]
    public void PrepareRejectsAnUnsupportedOperatorBeforeTraining()
    {
        var graph = Graph.OnnxGraph.Load(QatTestData.ModelPath("fmnist_cnn"));
        var gemm = graph.Nodes.First(n => n.OpType == "Gemm");
        graph.InsertNodeOnEdge("Hardmax", gemm.Inputs[0], new Graph.NodeInput(gemm, 0), name: "inserted_hardmax");

        var error = Assert.ThrowsExactly<NotSupportedException>(() => QuantizationAwareTraining.Prepare(graph.ToModel()));

        StringAssert.Contains(error.Message, "'inserted_hardmax'");
        StringAssert.Contains(error.Message, "Hardmax");
    }

    [TestMethod]
    public void BadTrainingDataIsRejectedBeforeLibTorch()
    {
        using var qat = QuantizationAwareTraining.Prepare(OnnxModel.Load(QatTestData.ModelPath("fmnist_cnn")));
        var options = new QatTrainingOptions();
        var sizes = Assert.ThrowsExactly<ArgumentException>(() => qat.Train(new float[783], [1], options));
        StringAssert.Contains(sizes.Message, "[1, 28, 28]");
        var label = Assert.ThrowsExactly<ArgumentException>(() => qat.Train(new float[784], [10], options));
        StringAssert.Contains(label.Message, "10 classes");
    }

    private static byte[] TrainAndConvert(OnnxModel model, Action<QatModel> train)
    {
        using var qat = QuantizationAwareTraining.Prepare(model);
        qat.Calibrate(QatTestData.Batches(_train, 0, 128));
        train(qat);
        return qat.Convert().Model.ToBytes();
    }

    private static double PostTrainingAccuracy(OnnxModel model, QuantizationConfig config) => QatTestData.PostTrainingAccuracy(model, config, _train, _test);

    private static double Accuracy(OnnxModel model) => QatTestData.Accuracy(model, _test);

    private static List<string> OpTypes(OnnxModel model) => Graph.OnnxGraph.FromModel(model).Nodes.Select(n => n.OpType).ToList();

    private sealed class Row
    {
        [VectorType(784)]
        public float[] Features { get; set; } = [];

        public int Label { get; set; }
    }

    private sealed class SynchronousProgress(Action<QatProgress> report) : IProgress<QatProgress>
    {
        public void Report(QatProgress value) => report(value);
    }
}
