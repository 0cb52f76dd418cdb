using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// The warning that this CPU's ONNX Runtime uint8 × int8 kernels saturate (x86 without VNNI adds pairs of products in
/// int16): given for full-range activations times full-range weights where the probe finds the kernel inexact and the
/// output SQNR leaves room to gain, and never for 7-bit activations or dynamic mode.
/// </summary>
[TestClass]
public sealed class SaturationWarningTests
{
    private static OrtInt8Census Census(params string[] kernels) => new(kernels.ToDictionary(k => k, _ => 1), []);

    [TestMethod]
    public void TheWarningNeedsWideProductsAFusedUint8ByInt8KernelRoomToGainAndAnInexactCpu()
    {
        string warning = ReportWarnings.Saturating(Census("QLinearConv", "com.microsoft:QGemm", "com.microsoft:QLinearAdd"), true, 24.5, () => false).Single();
        StringAssert.Contains(warning, "(QLinearConv, com.microsoft:QGemm)", "names the saturating kernels only");
        StringAssert.Contains(warning, "output SQNR of 24.50 dB");
        StringAssert.Contains(warning, "--reduce-range");
        Assert.HasCount(1, ReportWarnings.Saturating(Census("QLinearConv"), true, null, () => false), "an unmeasured output may saturate too");

        Assert.IsEmpty(ReportWarnings.Saturating(Census("QLinearConv"), true, 24.5, () => true), "exact on this CPU");
        Assert.IsEmpty(ReportWarnings.Saturating(Census("com.microsoft:QLinearAdd", "com.microsoft:QLinearSoftmax"), true, 24.5, () => false), "no uint8 × int8 GEMM");
        Assert.IsEmpty(ReportWarnings.Saturating(null, true, 24.5, () => false), "no census");
        Assert.IsEmpty(ReportWarnings.Saturating(Census("QLinearConv"), true, ReportWarnings.SaturationAdviceBelowDb, () => false), "one bit less would cost more than clipping does");
        int asked = 0;
        Assert.IsEmpty(ReportWarnings.Saturating(Census("QLinearConv"), false, 24.5, () => { asked++; return false; }), "7-bit activations or weights");
        Assert.AreEqual(0, asked, "the CPU is probed only when the model could saturate");
    }

    [TestMethod]
    public void AStaticTransformerWarnsExactlyWhereThisCpuSaturatesAndSevenBitsSilenceIt()
    {
        var full = Quantize(X86Quantizer.GetDefaultConfig(), "fmnist_rowtf");
        bool warned = full.Warnings.Any(w => w.Contains("saturating int16", StringComparison.Ordinal));
        Assert.AreEqual(!OrtU8S8Probe.IsExact && full.OutputSqnrDb < ReportWarnings.SaturationAdviceBelowDb, warned, full.ToString());
        if (warned)
            StringAssert.Contains(full.ToString(), "warning: this CPU has no VNNI: ONNX Runtime's uint8 × int8 kernels (");

        var reduced = Quantize(X86Quantizer.GetDefaultConfig(reduceRange: true), "fmnist_rowtf");
        Assert.IsFalse(reduced.Warnings.Any(w => w.Contains("saturating int16", StringComparison.Ordinal)), reduced.ToString());
        if (warned)
            Assert.IsGreaterThan(full.OutputSqnrDb!.Value, reduced.OutputSqnrDb!.Value, "where it warns, the advice pays on this model");
        var dynamic = Quantize(X86Quantizer.GetDefaultConfig(isDynamic: true), "fmnist_rowtf");
        Assert.IsFalse(dynamic.Warnings.Any(w => w.Contains("saturating int16", StringComparison.Ordinal)), dynamic.ToString());
        var cnn = Quantize(X86Quantizer.GetDefaultConfig());
        Assert.IsFalse(cnn.Warnings.Any(w => w.Contains("saturating int16", StringComparison.Ordinal)), $"above {ReportWarnings.SaturationAdviceBelowDb} dB the lost bit costs more: {cnn}");
    }

    private static QuantizationReport Quantize(QuantizationConfig config, string model = "fmnist_cnn")
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)), new X86Quantizer().SetGlobal(config));
        if (prepared.NeedsCalibration)
            prepared.Calibrate(FlowFixture.CalibrationBatches(16).Take(2));
        return prepared.Convert().Report;
    }
}
