using Microsoft.ML;
using MLNet.Quantization.Calibration;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// NaN/±Inf in the calibration inputs through ML.NET's estimator: refused with a <see cref="CalibrationException"/>
/// naming the input column, the share of such values and the batch (the flow-level cases are in CalibrationDataTests,
/// the CLI ones in CalibrationDataCliTests).
/// </summary>
[TestClass]
public sealed class NonFiniteInputTests
{
    [TestMethod]
    [DataRow(float.NaN)]
    [DataRow(float.PositiveInfinity)]
    [DataRow(float.NegativeInfinity)]
    public void TheEstimatorRefusesANonFiniteInputNamingIt(float bad)
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 100).Select(i => new FourFloatsRow { X = [i * 0.01f, 0.5f, i == 70 ? bad : -0.25f, 1f] }).ToList();
        var estimator = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = TinyMatMulRows.Model(3), BatchSize = 64 });
        var ex = Assert.ThrowsExactly<CalibrationException>(() => estimator.Fit(ml.Data.LoadFromEnumerable(rows)));
        // row 70 is in the second batch of 64 rows (36 rows, 144 values)
        StringAssert.Contains(ex.Message, "calibration input 'X' has 1 non-finite value(s) (NaN or ±Inf) of 144 (0.7 %) in batch 2");
    }

    [TestMethod]
    public void TheEstimatorHonoursACancelledToken()
    {
        var ml = new MLContext(seed: 1);
        using var source = new CancellationTokenSource();
        source.Cancel();
        var estimator = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = TinyMatMulRows.Model(3), CancellationToken = source.Token });
        Assert.Throws<OperationCanceledException>(() => estimator.Fit(TinyMatMulRows.View(ml, 10, 4)));
    }
}
