using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

/// <summary>
/// The label-free repair on fmnist_rowtf with the harsh config of the accuracy-aware proof: MinMax + reduce-range,
/// calibrated on the first 256 training images, two of which (indices 85 and 170) are raw 0–255 pixels. MinMax takes
/// their range, so the output SQNR on the first 32 (normal) images is low.
/// </summary>
[TestClass]
public sealed class OutputSqnrRepairTests
{
    private static Lazy<List<IReadOnlyList<NamedTensor>>> OutlierCalibration => HarshRowTf.OutlierCalibration;

    private static X86Quantizer HarshQuantizer() => HarshRowTf.Quantizer();

    private static OnnxModel RowTf => HarshRowTf.Model;

    private static QuantizedModel Plain(OnnxModel model, Func<X86Quantizer> quantizer, IReadOnlyList<IReadOnlyList<NamedTensor>> calibration)
    {
        var prepared = QuantizationFlow.Prepare(model, quantizer());
        prepared.Calibrate(calibration);
        return prepared.Convert();
    }

    [TestMethod]
    public void LowOutputSqnrIsRepairedWithFewerLayersInFloatThanAllAndEachDecisionIsReported()
    {
        double initial = Plain(RowTf, HarshQuantizer, OutlierCalibration.Value).Report.OutputSqnrDb!.Value;
        double target = initial + 6; // four times less noise power than the harsh conversion
        var log = new List<string>();
        var int8 = new OutputSqnrRepair(HarshQuantizer).Run(RowTf, OutlierCalibration.Value,
            new OutputSqnrRepairOptions { MinOutputSqnrDb = target, Log = new ListProgress(log) });

        var repair = int8.Report.Repair!;
        Console.WriteLine(int8.Report);
        Assert.AreEqual(initial, repair.InitialSqnrDb, 1e-9);
        Assert.IsTrue(repair.TargetMet);
        Assert.IsGreaterThanOrEqualTo(target, repair.FinalSqnrDb);
        Assert.IsNotEmpty(repair.Decisions);
        Assert.IsLessThan(repair.Layers.Count, repair.Decisions.Count, "fewer layers in float than all of them");
        Assert.AreEqual(repair.FinalSqnrDb, int8.Report.OutputSqnrDb!.Value, 1e-9, "the reported SQNR is the written model's");
        Assert.AreEqual(initial, repair.Decisions[0].SqnrBeforeDb, 1e-9);
        Assert.AreEqual(repair.FinalSqnrDb, repair.Decisions[^1].SqnrAfterDb, 1e-9);
        for (int i = 1; i < repair.Decisions.Count; i++)
            Assert.AreEqual(repair.Decisions[i - 1].SqnrAfterDb, repair.Decisions[i].SqnrBeforeDb, 1e-9);
        Assert.IsTrue(repair.Decisions.All(d => int8.Report.NodesLeftInFloat.Any(f => f.Name == d.NodeName)));
        Assert.IsEmpty(int8.Report.Warnings.Where(w => w.Contains("target", StringComparison.Ordinal)).ToList());

        string text = int8.Report.ToString();
        StringAssert.Contains(text, "output SQNR repair: target ≥ " + target.ToString("F2", CultureInfo.InvariantCulture));
        StringAssert.Contains(text, $"step 1: {repair.Decisions[0].OpType} '{repair.Decisions[0].NodeName}' back to float");
        StringAssert.Contains(text, "target met");
        Assert.IsTrue(log.Any(l => l.StartsWith("sensitivity:", StringComparison.Ordinal)));

        // the figure holds for the model as written: rerun the check on a fresh conversion with the same layers in float
        var again = Plain(RowTf, () =>
        {
            var q = HarshQuantizer();
            foreach (var d in repair.Decisions)
                q.SetNodeName(d.NodeName, null);
            return q;
        }, OutlierCalibration.Value);
        CollectionAssert.AreEqual(again.Model.ToBytes(), int8.Model.ToBytes());
    }

    [TestMethod]
    public void TargetAlreadyMetChangesNothingAndGivesTheSameBytes()
    {
        var calibration = Flow.FlowFixture.CalibrationBatches().ToList();
        Func<X86Quantizer> quantizer = () => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
        var plain = Plain(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), quantizer, calibration);
        var int8 = new OutputSqnrRepair(quantizer).Run(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), calibration,
            new OutputSqnrRepairOptions { MinOutputSqnrDb = plain.Report.OutputSqnrDb!.Value - 1 });

        CollectionAssert.AreEqual(plain.Model.ToBytes(), int8.Model.ToBytes());
        Assert.IsTrue(int8.Report.Repair!.TargetMet);
        Assert.IsEmpty(int8.Report.Repair.Decisions);
        CollectionAssert.AreEqual(plain.Report.Warnings.ToList(), int8.Report.Warnings.ToList());
        Assert.AreEqual(plain.Report.OrtInt8!.ToString(), int8.Report.OrtInt8!.ToString());
        StringAssert.Contains(int8.Report.ToString(), "target met");
    }

    [TestMethod]
    public void TrialsSkipOrtsInt8CensusAndTheReturnedModelCarriesItOnce()
    {
        var calibration = Flow.FlowFixture.CalibrationBatches().ToList();
        var model = OnnxModel.Load(TestPaths.Model("fmnist_cnn"));
        Func<X86Quantizer> quantizer = () => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
        var trials = new List<QuantizationReport>();
        var search = new FloatFallbackSearch(quantizer, null, model, calibration, quantized =>
        {
            trials.Add(quantized.Report);
            double db = quantized.Report.OutputSqnrDb ?? double.PositiveInfinity;
            return (db, db);
        }, CancellationToken.None);
        var outcome = search.Run(new HashSet<string>(StringComparer.Ordinal) { "Conv", "Gemm" }, _ => false, db => SqnrReport.FormatDb(db), log: null);

        Assert.HasCount(4, outcome.Layers);
        Assert.IsGreaterThanOrEqualTo(1 + outcome.Layers.Count, trials.Count, "the first trial, one per layer alone in float, and the steps not memoized");
        Assert.IsTrue(trials.All(r => r.OrtInt8 is null), "no trial asks ONNX Runtime to optimize the written model for the census");

        var final = search.Final(outcome.First);
        var plain = Plain(model, quantizer, calibration);
        CollectionAssert.AreEqual(plain.Model.ToBytes(), final.Model.ToBytes());
        Assert.IsNotNull(final.Report.OrtInt8);
        Assert.IsGreaterThan(0, final.Report.OrtInt8.Int8KernelCount);
        Assert.AreEqual(plain.Report.OrtInt8!.ToString(), final.Report.OrtInt8.ToString());
        Assert.AreEqual(Runtime.FusedGraphInspector.Int8Census(final.Model.ToBytes()).ToString(), final.Report.OrtInt8.ToString());
        CollectionAssert.AreEqual(plain.Report.Warnings.ToList(), final.Report.Warnings.ToList());
        Assert.IsNull(outcome.First.Model.Report.OrtInt8, "Final returns a copy; the trial stays as it was");

        // through the public repair: the returned model's report has the census of its own bytes
        var repaired = new OutputSqnrRepair(quantizer).Run(model, calibration, new OutputSqnrRepairOptions { MinOutputSqnrDb = 200, LayerOpTypes = new HashSet<string>(StringComparer.Ordinal) { "Gemm" } });
        Assert.IsNotNull(repaired.Report.OrtInt8);
        Assert.AreEqual(Runtime.FusedGraphInspector.Int8Census(repaired.Model.ToBytes()).ToString(), repaired.Report.OrtInt8.ToString());
        StringAssert.Contains(repaired.Report.ToString(), "ONNX Runtime int8 kernels: ");
    }

    [TestMethod]
    public void UnreachableTargetWarnsWithTheBestSqnrReachedAndReturnsThatModel()
    {
        // only the head Gemm may go back, but the damage is in the embedding MatMul
        var options = new OutputSqnrRepairOptions { MinOutputSqnrDb = 200, LayerOpTypes = new HashSet<string> { "Gemm" } };
        var int8 = new OutputSqnrRepair(HarshQuantizer).Run(RowTf, OutlierCalibration.Value, options);

        var repair = int8.Report.Repair!;
        Assert.IsFalse(repair.TargetMet);
        Assert.HasCount(1, repair.Layers);
        Assert.IsLessThan(200, repair.FinalSqnrDb);
        Assert.AreEqual(repair.FinalSqnrDb, int8.Report.OutputSqnrDb!.Value, 1e-9);
        string warning = int8.Report.Warnings.Single(w => w.Contains("was not reached", StringComparison.Ordinal));
        StringAssert.Contains(warning, SqnrReport.FormatDb(repair.FinalSqnrDb) + " dB");
        StringAssert.Contains(warning, "200.00 dB");
        StringAssert.Contains(int8.Report.ToString(), "target not met");
    }

    [TestMethod]
    public void BadRequestsAreRefusedBeforeAnyWork()
    {
        var repair = new OutputSqnrRepair(HarshQuantizer);
        Assert.ThrowsExactly<ArgumentException>(() => repair.Run(RowTf, OutlierCalibration.Value, new OutputSqnrRepairOptions { MinOutputSqnrDb = double.NaN }));
        Assert.ThrowsExactly<ArgumentException>(() => repair.Run(RowTf, [], new OutputSqnrRepairOptions { MinOutputSqnrDb = 20 }));
        Assert.ThrowsExactly<ArgumentException>(() => new OutputSqnrRepair(HarshQuantizer, new PrepareOptions { QualityCheckSamples = 0 })
            .Run(RowTf, OutlierCalibration.Value, new OutputSqnrRepairOptions { MinOutputSqnrDb = 20 }));
        Assert.ThrowsExactly<InvalidOperationException>(() => new OutputSqnrRepair(() => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true)))
            .Run(RowTf, OutlierCalibration.Value, new OutputSqnrRepairOptions { MinOutputSqnrDb = 20 }));
    }

    private sealed class ListProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
