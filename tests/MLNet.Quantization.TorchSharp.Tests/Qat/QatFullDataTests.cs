using System.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

/// <summary>
/// The full-data proof: one QAT epoch over the 60,000 Fashion-MNIST training images, accuracy of the converted model
/// in ONNX Runtime on the full 10,000-image test set, against post-training quantization calibrated on the first 512
/// training images. About 35 s per case on an unloaded 2-core machine (libtorch slows down sharply under contention).
/// One case per model, each with one weight width (a full epoch per case is the largest single cost of the test run);
/// <see cref="QatTrainingTests"/> proves both widths on fmnist_cnn with 2,000 training images.
/// </summary>
[TestClass]
public sealed class QatFullDataTests
{
    [TestMethod]
    [TestCategory("Long")]
    [DataRow("fmnist_cnn", 8)]
    [DataRow("fmnist_mobile", 4)]
    public void OneFullEpochOfQatBeatsPostTrainingQuantization(string name, int weightBits)
    {
        var train = QatTestData.Train(null);
        var test = QatTestData.Test(null);
        var model = OnnxModel.Load(QatTestData.ModelPath(name));
        QuantizationConfig Bits(QuantizationConfig c) => weightBits == 4 ? QatTestData.FourBitWeights(c) : c;

        double fp32 = QatTestData.Accuracy(model, test);
        double ptqAccuracy = QatTestData.PostTrainingAccuracy(model, Bits(X86Quantizer.GetDefaultConfig()), train, test);

        using var qat = QuantizationAwareTraining.Prepare(model, Bits(X86Quantizer.GetDefaultConfig(isQat: true)));
        qat.Calibrate(QatTestData.Batches(train, 0, QatTestData.CalibrationCount));
        var watch = Stopwatch.StartNew();
        var progress = new Progress<QatProgress>(p =>
        {
            if (p.Batch % 100 == 0 || p.IsEndOfEpoch)
                Console.WriteLine($"  {name} {weightBits}-bit batch {p.Batch}/{p.BatchesPerEpoch} loss {p.EpochLoss:F4} {p.Elapsed.TotalSeconds:F0} s");
        });
        var result = qat.Train(train.Images, train.Labels, new QatTrainingOptions { LearningRate = 1e-4 }, progress);
        double qatAccuracy = QatTestData.Accuracy(qat.Convert().Model, test);

        Console.WriteLine($"{name} {weightBits}-bit weights, 10,000 test images: fp32 {fp32:P2}, PTQ {ptqAccuracy:P2}, QAT {qatAccuracy:P2}; "
            + $"epoch of {train.Count} images in {result.Elapsed.TotalSeconds:F0} s, mean loss {result.EpochLosses[0]:F4}");
        if (weightBits == 8)
            Assert.IsGreaterThanOrEqualTo(ptqAccuracy, qatAccuracy);
        else
            Assert.IsGreaterThanOrEqualTo(ptqAccuracy + (fp32 - ptqAccuracy) / 2, qatAccuracy);
    }
}
