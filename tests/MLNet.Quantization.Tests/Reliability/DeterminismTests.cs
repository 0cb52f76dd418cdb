using System.Security.Cryptography;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Flow;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// The same model, data and options give a byte-identical ONNX file: across runs in one process, across ONNX Runtime
/// intra-op thread counts during calibration, through a file save, and (for the order-independent MinMax observer)
/// across calibration batch sizes.
/// </summary>
[TestClass]
public sealed class DeterminismTests
{
    private static byte[] Quantize(string model, bool dynamic, int threads = 0, int batch = 64, Func<ObserverOptions, Observer>? observer = null)
    {
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic, activationObserver: dynamic ? null : observer));
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)), quantizer, new PrepareOptions { CalibrationThreads = threads });
        if (prepared.NeedsCalibration)
            prepared.Calibrate(FlowFixture.CalibrationBatches(batch).Take(256 / batch));
        return prepared.Convert().Model.ToBytes();
    }

    [TestMethod]
    [DataRow("fmnist_cnn", false)]
    [DataRow("fmnist_mobile", false)]
    [DataRow("fmnist_rowtf", true)]
    public void TwoRunsGiveTheSameBytes(string model, bool dynamic)
    {
        var first = Quantize(model, dynamic);
        var second = Quantize(model, dynamic);
        Assert.AreEqual(Convert.ToHexString(SHA256.HashData(first)), Convert.ToHexString(SHA256.HashData(second)));
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    public void CalibrationThreadCountDoesNotChangeTheBytes(string model)
    {
        var oneThread = Quantize(model, dynamic: false, threads: 1);
        var twoThreads = Quantize(model, dynamic: false, threads: 2);
        CollectionAssert.AreEqual(oneThread, twoThreads);
    }

    [TestMethod]
    public void MinMaxCalibrationBatchSizeDoesNotChangeTheBytes()
    {
        Func<ObserverOptions, Observer> minMax = o => new MinMaxObserver(o);
        var small = Quantize("fmnist_cnn", dynamic: false, batch: 16, observer: minMax);
        var large = Quantize("fmnist_cnn", dynamic: false, batch: 128, observer: minMax);
        CollectionAssert.AreEqual(small, large);
    }

    [TestMethod]
    public void SavedFilesAreIdenticalAcrossRuns()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            var paths = new[] { Path.Combine(dir, "a.onnx"), Path.Combine(dir, "b.onnx") };
            foreach (var path in paths)
            {
                var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
                prepared.Calibrate(FlowFixture.CalibrationBatches().Take(2));
                prepared.Convert().Save(path);
            }

            CollectionAssert.AreEqual(File.ReadAllBytes(paths[0]), File.ReadAllBytes(paths[1]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
