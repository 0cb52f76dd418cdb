using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// One <see cref="QuantizedModelTransformer"/> scoring from 8 threads at once (one cursor each) gives exactly the
/// single-threaded results, and 100 fit/dispose cycles leak neither temporary files nor file handles.
/// </summary>
[TestClass]
public sealed class ConcurrencyTests
{
    private sealed class InputRow
    {
        [VectorType(784)]
        public float[] input { get; set; } = [];
    }

    [TestMethod]
    public void EightThreadsWithTheirOwnCursorsScoreLikeOneThread()
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.Test;
        var rows = Enumerable.Range(0, 700).Select(i => new InputRow { input = data.Image(i).ToArray() }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        using var transformer = ml.Transforms.Quantize(new QuantizationOptions { ModelFile = TestPaths.Model("fmnist_cnn"), MaxCalibrationRows = 256 })
            .Fit(ml.Data.LoadFromEnumerable(rows.Take(256).ToList()));
        var scored = transformer.Transform(view);
        var reference = ScoredRows.Read(scored);
        Assert.HasCount(700, reference);

        using var start = new Barrier(8);
        var results = new List<float[]>[8];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            results[t] = ScoredRows.Read(scored);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int t = 0; t < 8; t++)
        {
            Assert.HasCount(reference.Count, results[t], $"thread {t}");
            for (int r = 0; r < reference.Count; r++)
                CollectionAssert.AreEqual(reference[r], results[t][r], $"thread {t}, row {r}");
        }
    }

    [TestMethod]
    public void HundredFitDisposeCyclesLeakNoTempFilesOrHandles()
    {
        string temp = TestPaths.NewTempDirectory();
        try
        {
            var ml = new MLContext(seed: 1) { TempFilePath = temp };
            var modelBytes = TinyMatMulRows.Model(5);
            var view = TinyMatMulRows.View(ml, 16, 5);

            Cycle(ml, modelBytes, view); // warm up: ORT's and ML.NET's one-time handles are opened here
            GC.Collect();
            GC.WaitForPendingFinalizers();
            int handlesBefore = OpenHandles();
            for (int i = 0; i < 100; i++)
                Cycle(ml, modelBytes, view);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            int handlesAfter = OpenHandles();

            var left = Directory.GetFileSystemEntries(temp);
            Assert.IsEmpty(left, $"temporary files left behind: {left.Length}: {string.Join(", ", left.Take(5).Select(Path.GetFileName))}");
            Assert.IsLessThanOrEqualTo(handlesBefore + 10, handlesAfter, $"open file handles grew from {handlesBefore} to {handlesAfter}");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static void Cycle(MLContext ml, byte[] modelBytes, IDataView view)
    {
        using var transformer = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = modelBytes, TempDirectory = ml.TempFilePath }).Fit(view);
        using var cursor = transformer.Transform(view).GetRowCursor(transformer.Transform(view).Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Y"]);
        VBuffer<float> value = default;
        int count = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            count++;
        }

        Assert.AreEqual(16, count);
    }

    private static int OpenHandles() => Directory.GetFileSystemEntries("/proc/self/fd").Length;
}
