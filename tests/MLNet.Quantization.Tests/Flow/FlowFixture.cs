using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>Quantizes each shared model once per test run (default X86 config, 512 training images) and caches the result.</summary>
internal static class FlowFixture
{
    private static readonly Dictionary<(string, bool), QuantizedModel> Cache = [];
    private static readonly Lock Gate = new();

    public static IEnumerable<IReadOnlyList<NamedTensor>> CalibrationBatches(int batch = 64) => TestData.Calib.Batches("input", batch);

    public static QuantizedModel Quantized(string model, bool dynamic)
    {
        lock (Gate)
        {
            if (Cache.TryGetValue((model, dynamic), out var cached))
                return cached;
            var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic));
            var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)), quantizer);
            if (prepared.NeedsCalibration)
                prepared.Calibrate(CalibrationBatches());
            var result = prepared.Convert();
            Cache[(model, dynamic)] = result;
            return result;
        }
    }
}
