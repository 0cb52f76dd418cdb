using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Shapes;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Shapes;

[TestClass]
public sealed class FixedBatchRelaxationTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void ConvReshapeGemmWithTheBatchInTheReshapeShapeIsMadeSymbolicAndAgreesInOrtAtTwoBatchSizes(int batch)
    {
        var model = ShapeModels.ConvReshapeGemm(batch);
        var (relaxed, outcome) = FixedBatchRelaxation.Run(OnnxGraph.FromModel(model));

        Assert.IsNull(outcome.FixedBatchSize, outcome.Note);
        StringAssert.Contains(outcome.Note, "1 Reshape shape(s) now copy it (0)");
        Assert.IsNotNull(relaxed.Inputs[0].Shape![0].Symbol);
        Assert.IsNull(relaxed.Inputs[0].Shape![0].Value);
        Assert.IsNull(relaxed.Outputs[0].Shape![0].Value, "the graph output's fixed batch is relaxed too");
        Assert.IsFalse(relaxed.ValueInfos.Any(v => v.Name == "conv" && v.Shape![0].Value == batch), "value_info at the fixed batch is re-inferred");
        var reshape = relaxed.Nodes.Single(n => n.OpType == "Reshape");
        CollectionAssert.AreEqual(new long[] { 0, -1 }, relaxed.Initializers[reshape.Inputs[1]].ToInt64Array());

        // the original at its fixed batch against the relaxed graph at batch 1 and at batch 6, same samples
        const int samples = 6;
        var x = ShapeModels.RandomValues(samples * 2 * 6 * 6, 42);
        using var original = new ModelRunner(model);
        using var batchable = new ModelRunner(relaxed.ToModel());
        var expected = original.Run(x, samples);
        foreach (int size in new[] { 1, samples })
        {
            var actual = batchable.Run(x, samples, size);
            Assert.AreEqual(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-5f, $"batch {size}, value {i}");
        }
    }

    [TestMethod]
    public void ExpandBakingTheBatchStaysFixedAndSaysWhy()
    {
        var graph = OnnxGraph.FromModel(ShapeModels.ExpandBakesBatch());
        var (result, outcome) = FixedBatchRelaxation.Run(graph);

        Assert.AreSame(graph, result);
        Assert.AreEqual(1, outcome.FixedBatchSize);
        StringAssert.Contains(outcome.Note, "the batch stays fixed at 1");
        Assert.AreEqual(1L, result.Inputs[0].Shape![0].Value);
    }

    [TestMethod]
    public void TileChangingTheLeadingDimensionStaysFixed()
    {
        var (_, outcome) = FixedBatchRelaxation.Run(OnnxGraph.FromModel(ShapeModels.TileBakesBatch()));
        Assert.AreEqual(1, outcome.FixedBatchSize, outcome.Note);
    }

    [TestMethod]
    public void ReshapeWhoseLeadingOneIsNotTheBatchIsNotRewrittenAndTheGraphStaysFixed()
    {
        var graph = OnnxGraph.FromModel(ShapeModels.ReshapeOfNonBatchAxis());
        var (result, outcome) = FixedBatchRelaxation.Run(graph);
        Assert.AreEqual(1, outcome.FixedBatchSize, outcome.Note);
        CollectionAssert.AreEqual(new long[] { 1, -1 }, result.Initializers["shape"].ToInt64Array());
        StringAssert.Contains(outcome.Note, "output 'y'");
    }

    [TestMethod]
    public void SymbolicBatchIsLeftAlone()
    {
        var graph = OnnxGraph.FromModel(OnnxModel.Load(TestPaths.Model("fmnist_cnn")));
        var (result, outcome) = FixedBatchRelaxation.Run(graph);
        Assert.AreSame(graph, result);
        Assert.IsNull(outcome.FixedBatchSize);
        Assert.AreEqual("", outcome.Note);
    }

    [TestMethod]
    public void SymbolicNonBatchDimensionOnAFixedBatchModelStaysFixedAndAsksForASize()
    {
        var graph = OnnxGraph.FromModel(ShapeModels.SymbolicHeightWidth());
        InputShapeOverrides.Apply(graph, new Dictionary<string, int[]> { ["x"] = [1, 3, 8, 8] });
        var (relaxed, outcome) = FixedBatchRelaxation.Run(graph);
        Assert.IsNull(outcome.FixedBatchSize, "with H and W given, the fixed batch of 1 is made symbolic again");
        CollectionAssert.AreEqual(new long?[] { null, 3, 8, 8 }, relaxed.Inputs[0].Shape!.Select(d => d.Value).ToArray());
    }

    [TestMethod]
    public void Mnist8FromCntkIsPreparedBatchableAndCalibratesSixtyFourPerRun()
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "TestData", "mnist", "mnist-8.onnx")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        Assert.IsNull(prepared.FixedBatchSize);
        var input = prepared.Graph.Inputs.Single();
        Assert.IsNull(input.Shape![0].Value);
        var x = ShapeModels.RandomValues(64 * 784, 3).Select(v => (v + 1) * 127f).ToArray();
        prepared.Calibrate([[NamedTensor.FromFloats(input.Name, x, 64, 1, 28, 28)]]);
        var quantized = prepared.Convert();

        Assert.IsNull(quantized.Report.FixedBatchSize);
        Assert.AreEqual(64, quantized.Report.CalibrationBatchSize);
        StringAssert.Contains(quantized.Report.BatchDimension, "made symbolic");
        StringAssert.Contains(quantized.Report.ToString(), "batch: any size");
        var outputInput = OnnxGraph.FromModel(quantized.Model).Inputs.Single();
        Assert.IsNull(outputInput.Shape![0].Value, "the QDQ model keeps the batchable form");
        using var runner = new ModelRunner(quantized.Model);
        Assert.AreEqual(64 * 10, runner.Run(x, 64, 32).Length);
    }

    [TestMethod]
    public void FixedBatchModelCalibratesOneSamplePerRunAndTheReportSaysSo()
    {
        var prepared = QuantizationFlow.Prepare(ShapeModels.ExpandBakesBatch(), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        Assert.AreEqual(1, prepared.FixedBatchSize);
        var two = NamedTensor.FromFloats("x", ShapeModels.RandomValues(8, 1), 2, 4);
        var e = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([[two]]));
        StringAssert.Contains(e.Message, "expects dimension 0 = 1");

        prepared.Calibrate(Enumerable.Range(0, 5).Select(i => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x", ShapeModels.RandomValues(4, i), 1, 4)]));
        var report = prepared.Convert().Report;
        Assert.AreEqual(1, report.FixedBatchSize);
        Assert.AreEqual(1, report.CalibrationBatchSize);
        Assert.AreEqual(5, report.CalibrationSamples);
        StringAssert.Contains(report.ToString(), "batch: fixed at 1");
    }

    [TestMethod]
    public void RelaxFixedBatchFalseKeepsTheDeclaredBatch()
    {
        var prepared = QuantizationFlow.Prepare(ShapeModels.ConvReshapeGemm(1), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { RelaxFixedBatch = false });
        Assert.AreEqual(1L, prepared.Graph.Inputs[0].Shape![0].Value);
        Assert.AreEqual(1, prepared.FixedBatchSize);
    }
}
