using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Samples;
using MLNet.Quantization.Tests.Flow;
using MLNet.Quantization.Tests.MLNetIntegration;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.CalibrationMemoryBudget;

/// <summary>Calibration batches sized from the bytes the observed tensors need per sample.</summary>
[TestClass]
public sealed class CalibrationMemoryTests
{
    private static ValueInfo Float(string name, params long?[] dims) =>
        new(name, TensorElementType.Float, dims.Select(d => new Dimension(d, d is null ? "N" : null)).ToArray());

    [TestMethod]
    public void BytesPerSampleAddsEveryTensorWithoutItsBatchDimension()
    {
        // an image input and two activations of a ResNet stem: 3·224·224 + 64·112·112 + 64·56·56 floats per sample
        long? bytes = CalibrationMemory.BytesPerSample([Float("x", null, 3, 224, 224), Float("conv", null, 64, 112, 112), Float("pool", null, 64, 56, 56)]);
        Assert.AreEqual(4L * (3 * 224 * 224 + 64 * 112 * 112 + 64 * 56 * 56), bytes);
        Assert.AreEqual(8L * 7, CalibrationMemory.BytesPerSample([new ValueInfo("ids", TensorElementType.Int64, [new Dimension(null, "N"), new Dimension(7, null)])]));
        Assert.IsNull(CalibrationMemory.BytesPerSample([Float("x", null, 3, null, null)]), "a symbolic size after the batch is unknown");
        Assert.IsNull(CalibrationMemory.BytesPerSample([new ValueInfo("x", TensorElementType.Float, null)]), "an unknown shape is unknown");
    }

    [TestMethod]
    public void BatchSizeKeepsBytesPerSampleTimesSamplesWithinTheBudget()
    {
        long perSample = 4L * (3 * 224 * 224 + 64 * 112 * 112 + 64 * 56 * 56); // 4.4 MiB
        Assert.AreEqual(29, CalibrationMemory.BatchSize(perSample, 128L << 20, 64));
        Assert.IsTrue(29 * perSample <= 128L << 20 && 30 * perSample > 128L << 20);
        Assert.AreEqual(64, CalibrationMemory.BatchSize(perSample, 4L << 30, 64), "a large budget keeps the batch asked for");
        Assert.AreEqual(1, CalibrationMemory.BatchSize(perSample, 1 << 20, 64), "one sample larger than the budget still runs");
        Assert.AreEqual(64, CalibrationMemory.BatchSize(null, 1 << 20, 64), "unknown sizes keep the batch asked for");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CalibrationMemory.BatchSize(perSample, 0, 64));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PrepareOptions { CalibrationMemoryBudgetBytes = -1 });
    }

    [TestMethod]
    public void CheckRunsSliceTheKeptBatchesInOrder()
    {
        var buffer = new CheckSampleBuffer(32, 1L << 20);
        float[] values = Enumerable.Range(0, 10 * 3).Select(i => (float)i).ToArray();
        buffer.Offer([NamedTensor.FromFloats("x", values, 10, 3), NamedTensor.FromInt64("ids", Enumerable.Range(0, 10).Select(i => (long)i).ToArray(), 10, 1)]);
        buffer.Offer([NamedTensor.FromFloats("x", [100, 101, 102], 1, 3), NamedTensor.FromInt64("ids", [7, 8], 2, 1)]); // leading dimensions differ: kept whole
        var runs = buffer.Runs(4).ToList();
        CollectionAssert.AreEqual(new[] { 4, 4, 2, 1 }, runs.Select(r => r[0].Shape[0]).ToArray());
        CollectionAssert.AreEqual(values, runs.Take(3).SelectMany(r => r[0].Floats!).ToArray(), "the slices hold the batch's rows in order");
        CollectionAssert.AreEqual(new long[] { 4, 5, 6, 7 }, runs[1][1].Int64s);
        CollectionAssert.AreEqual(new[] { 2, 1 }, runs[3][1].Shape);
        Assert.HasCount(2, buffer.Runs(null).ToList(), "no limit keeps the batches as they are");
    }

    [TestMethod]
    public void AQualityCheckInSmallerRunsGivesTheSameModelAndFigures()
    {
        var batches = FlowFixture.CalibrationBatches(32).Take(2).ToList();
        QuantizedModel Quantize(long budget)
        {
            var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")),
                new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { CalibrationMemoryBudgetBytes = budget });
            Assert.IsTrue(budget / 4 / prepared.CalibrationBytesPerSample is var perRun && (budget > 1 << 20 ? perRun >= 32 : perRun < 16), $"{perRun} samples per check run");
            prepared.Calibrate(batches);
            return prepared.Convert();
        }

        var whole = Quantize(PrepareOptions.DefaultCalibrationMemoryBudgetBytes);
        var sliced = Quantize(300_000); // a quarter of it holds a few samples, so the 32 checked samples take several runs
        CollectionAssert.AreEqual(whole.Model.ToBytes(), sliced.Model.ToBytes());
        Assert.AreEqual(32, sliced.Report.CheckedSamples);
        Assert.AreEqual(whole.Report.OutputSqnrDb!.Value, sliced.Report.OutputSqnrDb!.Value, 1e-9);
        CollectionAssert.AreEqual(whole.Report.WorstActivations.Select(a => a.Tensor).ToList(), sliced.Report.WorstActivations.Select(a => a.Tensor).ToList());
    }

    [TestMethod]
    public void FitCalibratesOnBatchesThatFitTheBudget()
    {
        var ml = new MLContext(seed: 1);
        var data = FashionMnistRows.Normalize(ml).Fit(FashionMnistRows.CalibrationView(ml)).Transform(FashionMnistRows.CalibrationView(ml));
        QuantizationReport Fit(long budget)
        {
            using var model = ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), MaxCalibrationRows = 128, CalibrationMemoryBudgetBytes = budget }).Fit(data);
            return model.QuantizationReport;
        }

        var roomy = Fit(PrepareOptions.DefaultCalibrationMemoryBudgetBytes);
        Assert.AreEqual(64, roomy.CalibrationBatchSize, "fmnist_cnn needs well under 8 MB per sample");
        Assert.AreEqual(128, roomy.CalibrationSamples);
        var tight = Fit(300_000); // a few samples' activations
        Assert.IsTrue(tight.CalibrationBatchSize is >= 1 and < 64, $"batch {tight.CalibrationBatchSize} under a 300 kB budget");
        Assert.AreEqual(128, tight.CalibrationSamples);
    }

    [TestMethod]
    public void FitWithMinOutputSqnrStreamsEveryTrialInBatchesThatFitTheBudget()
    {
        // 128 rows of 784 floats take 401 kB held at once, more than the whole 300 kB budget
        const long budget = 300_000;
        var ml = new MLContext(seed: 1);
        // normalised already: no ML.NET transform in between, whose parallel cursors would read ahead on their own
        var images = FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 128);
        var rows = new CountingRows(Enumerable.Range(0, images.Count).Select(i => new InputRow { input = images.Image(i).ToArray() }).ToList());
        var data = ml.Data.LoadFromEnumerable(rows);
        var probe = new PullProbe(rows);
        QuantizedModelTransformer Fit(double? minSqnr) => ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            MaxCalibrationRows = 128,
            CalibrationMemoryBudgetBytes = budget,
            ActivationObserver = o => new ProbingObserver(o, probe),
            MinOutputSqnr = minSqnr,
        }).Fit(data);

        int budgetBatch;
        using (var plain = Fit(null))
            budgetBatch = plain.QuantizationReport.CalibrationBatchSize;
        Assert.IsTrue(budgetBatch is >= 1 and < 64, $"batch {budgetBatch} under a {budget} B budget");
        probe.Clear();
        int enumerationsBefore = rows.Enumerations;

        using var repaired = Fit(200); // out of reach until every layer is back in float: many trials
        var repair = repaired.QuantizationReport.Repair!;
        var seen = probe.Observations;
        Assert.IsNotEmpty(repair.Decisions);
        Assert.IsNotEmpty(seen);
        Assert.AreEqual(budgetBatch, seen.Max(o => o.Batch), "every trial calibrates in the budget's batches");
        foreach (var (pulled, seenBefore, batch) in seen)
            Assert.IsLessThanOrEqualTo(seenBefore + batch, pulled, $"{pulled} rows read from the view while an observer takes its batch of {batch} after {seenBefore} samples");
        Assert.IsGreaterThanOrEqualTo(enumerationsBefore + 1 + repair.Layers.Count, rows.Enumerations, "each trial reads the view again");
        Assert.IsLessThanOrEqualTo(128, rows.MostPulled);
    }

    private sealed class InputRow
    {
        [VectorType(784)]
        public float[] input { get; set; } = [];
    }

    /// <summary>Rows for <c>LoadFromEnumerable</c> that count their enumerations and the rows pulled from the latest one.</summary>
    private sealed class CountingRows(List<InputRow> rows) : IEnumerable<InputRow>
    {
        private int _pulled;
        private int _enumerations;
        private int _mostPulled;

        public int Enumerations => Volatile.Read(ref _enumerations);

        public int Pulled => Volatile.Read(ref _pulled);

        public int MostPulled => Volatile.Read(ref _mostPulled);

        public IEnumerator<InputRow> GetEnumerator()
        {
            Interlocked.Increment(ref _enumerations);
            Volatile.Write(ref _pulled, 0);
            return Rows();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private IEnumerator<InputRow> Rows()
        {
            foreach (var row in rows)
            {
                int pulled = Interlocked.Increment(ref _pulled);
                if (pulled > Volatile.Read(ref _mostPulled))
                    Volatile.Write(ref _mostPulled, pulled);
                yield return row;
            }
        }
    }

    /// <summary>What each observation saw: rows pulled from the view, samples this observer took before, and the batch.</summary>
    private sealed class PullProbe(CountingRows rows)
    {
        private readonly List<(int Pulled, long SeenBefore, int Batch)> _observations = [];

        public List<(int Pulled, long SeenBefore, int Batch)> Observations
        {
            get
            {
                lock (_observations)
                    return [.. _observations];
            }
        }

        public void Record(long seenBefore, int batch)
        {
            lock (_observations)
                _observations.Add((rows.Pulled, seenBefore, batch));
        }

        public void Clear()
        {
            lock (_observations)
                _observations.Clear();
        }
    }

    /// <summary>
    /// A MinMax observer that records, at each calibration batch, how far the data view has been read. Calibrate feeds
    /// the empty copies it makes (<see cref="CreateEmpty"/>), so only those record: the factory's own observer also
    /// takes constants at prepare.
    /// </summary>
    private sealed class ProbingObserver(ObserverOptions options, PullProbe probe, bool records = false) : MinMaxObserver(options)
    {
        private long _seen;

        public override void Observe(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
        {
            if (records)
                probe.Record(_seen, shape[0]);
            _seen += shape[0];
            base.Observe(values, shape);
        }

        public override Observer CreateEmpty() => new ProbingObserver(Options, probe, records: true);
    }
}
