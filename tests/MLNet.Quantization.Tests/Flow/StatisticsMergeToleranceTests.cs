using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// docs/scale-out.md's histogram tolerance: shards of unequal size, calibrated in the same batches as one pass and
/// merged through statistics files, give activation scales within 0.2 % of the one pass.
/// </summary>
[TestClass]
public sealed class StatisticsMergeToleranceTests
{
    private const double Tolerance = 0.002;

    [TestMethod]
    [DataRow("fmnist_rowtf", "histogram")]
    [DataRow("fmnist_rowtf", "percentile")]
    [DataRow("fmnist_cnn", "histogram")]
    public void UnequalShardsMergeWithinTheDocumentedTolerance(string model, string observer)
    {
        Func<ObserverOptions, Observer>? factory = observer == "percentile" ? o => new PercentileObserver(o) : null;
        PreparedModel Prepare() => QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)),
            new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(activationObserver: factory)), new PrepareOptions { QualityCheckSamples = 0 });
        var batches = TestData.Calib.Batches("input", 16).ToList();
        var onePass = Prepare();
        onePass.Calibrate(batches);
        var merged = Prepare();
        int[] cuts = [0, 5, 19, batches.Count];
        for (int s = 0; s < 3; s++)
        {
            var shard = Prepare();
            shard.Calibrate(batches.Skip(cuts[s]).Take(cuts[s + 1] - cuts[s]));
            using var stream = new MemoryStream();
            shard.SaveStatistics(stream);
            stream.Position = 0;
            merged.LoadStatistics(stream);
        }

        var expected = Scales(onePass.Convert());
        var actual = Scales(merged.Convert());
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), actual.Keys.ToList());
        double worst = expected.Max(p => Math.Abs(p.Value - actual[p.Key]) / p.Value);
        Assert.IsLessThanOrEqualTo(Tolerance, worst, $"{model} {observer}: largest relative scale difference {worst:E3}");
    }

    private static Dictionary<string, double> Scales(QuantizedModel model)
    {
        var graph = OnnxGraph.FromModel(model.Model);
        return graph.Nodes.Where(n => n.OpType == "QuantizeLinear" && !graph.TryGetConstant(n.Inputs[0], out _))
            .GroupBy(n => n.Inputs[0]).Select(g => g.First())
            .ToDictionary(n => n.Inputs[0], n => graph.TryGetConstant(n.Inputs[1], out var scale) ? (double)scale.ToFloatArray()[0] : double.NaN);
    }
}
