using MLNet.Quantization.Calibration;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>
/// The harsh setting of the accuracy-aware and output-SQNR repair proofs on fmnist_rowtf: MinMax + reduce-range
/// (per-tensor activations), calibrated on the first 256 training images, two of which (indices 85 and 170) are fed as
/// raw 0–255 pixels, a classic preprocessing slip. MinMax takes their range.
/// </summary>
internal static class HarshRowTf
{
    /// <summary>The 256 calibration images with the two outliers, in batches of 64.</summary>
    public static readonly Lazy<List<IReadOnlyList<NamedTensor>>> OutlierCalibration = new(() =>
    {
        var calib = FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 256);
        var raw = FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 256, normalize: false);
        var images = calib.Images.ToArray();
        foreach (int index in new[] { 85, 170 })
            Array.Copy(raw.Images, index * 784, images, index * 784, 784); // 0–255, not x/255 then (x − mean)/std
        var batches = new List<IReadOnlyList<NamedTensor>>();
        for (int s = 0; s < 256; s += 64)
            batches.Add([NamedTensor.FromFloats("input", images.AsSpan(s * 784, 64 * 784).ToArray(), 64, 1, 28, 28)]);
        return batches;
    });

    /// <summary>MinMax + reduce-range activations.</summary>
    public static X86Quantizer Quantizer() =>
        new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(reduceRange: true, activationObserver: o => new MinMaxObserver(o)));

    /// <summary>The bundled transformer.</summary>
    public static OnnxModel Model => OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
}
