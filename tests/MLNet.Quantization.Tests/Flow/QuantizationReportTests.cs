using System.Globalization;
using MLNet.Quantization.Diagnostics;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class QuantizationReportTests
{
    [TestMethod]
    public void ToStringUsesInvariantNumbersUnderAnyCulture()
    {
        var quality = new QualityFigures(31.25, 8, [new ActivationSqnr("conv_out", "conv_out_q", "conv", [], 12.5)], [], []);
        var report = new QuantizationReport("static", new Dictionary<string, int> { ["Conv"] = 3 }, [], 1_234_567, 345_678,
            TimeSpan.FromSeconds(1.5), 2000, new BatchSummary(null, "", 64), [], quality);
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.AreEqual(",", CultureInfo.CurrentCulture.NumberFormat.NumberDecimalSeparator, "de-DE must write decimal commas here");
            string text = report.ToString();
            StringAssert.Contains(text, "size: 1,234,567 → 345,678 bytes (3.57× smaller)");
            StringAssert.Contains(text, "calibration: 2000 samples in 1.50 s, up to 64 per run");
            StringAssert.Contains(text, "output SQNR: 31.25 dB, int8 against float on 8 calibration samples (worst activation 'conv_out' 12.50 dB)");
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
