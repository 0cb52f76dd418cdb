using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Shapes;

[TestClass]
public sealed class InputShapesTests
{
    private static X86Quantizer Quantizer() => new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig());

    [TestMethod]
    public void SymbolicHeightAndWidthCalibrateAtTwoSizesInSeparateBatchesAndTheHistogramsMergeTheirRanges()
    {
        var model = ShapeModels.SymbolicHeightWidth();
        var small = NamedTensor.FromFloats("x", ShapeModels.RandomValues(2 * 3 * 8 * 8, 1), 2, 3, 8, 8);
        // a larger image with a 4× wider value range
        var large = NamedTensor.FromFloats("x", ShapeModels.RandomValues(1 * 3 * 12 * 10, 2).Select(v => v * 4).ToArray(), 1, 3, 12, 10);

        var smallOnly = QuantizationFlow.Prepare(model, Quantizer());
        smallOnly.Calibrate([[small]]);
        var both = QuantizationFlow.Prepare(model, Quantizer());
        both.Calibrate([[small], [large]]);
        var quantized = both.Convert();

        Assert.AreEqual(3, quantized.Report.CalibrationSamples);
        Assert.AreEqual(2, quantized.Report.CalibrationBatchSize);
        float narrow = InputScale(smallOnly.Convert().Model);
        float wide = InputScale(quantized.Model);
        Assert.IsGreaterThan(narrow * 3, wide, $"input scale {wide} after both sizes vs {narrow} after the small one");

        // the QDQ model keeps N, H and W symbolic and runs at a third size
        var input = OnnxGraph.FromModel(quantized.Model).Inputs.Single();
        Assert.IsTrue(input.Shape!.Where((_, i) => i != 1).All(d => d.Value is null), input.ToString());
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(quantized.Model.ToBytes());
        var x = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(ShapeModels.RandomValues(3 * 3 * 9 * 7, 5), [3, 3, 9, 7]);
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", x)]);
        CollectionAssert.AreEqual(new[] { 3, 5 }, results[0].AsTensor<float>().Dimensions.ToArray());
    }

    [TestMethod]
    public void InputShapesFixSymbolicDimensionsForThePreparedGraph()
    {
        var prepared = QuantizationFlow.Prepare(ShapeModels.SymbolicHeightWidth(), Quantizer(),
            new PrepareOptions { InputShapes = new Dictionary<string, int[]> { ["x"] = [1, 3, 16, 16] } });
        var shape = prepared.Graph.Inputs.Single().Shape!;
        CollectionAssert.AreEqual(new long?[] { null, 3, 16, 16 }, shape.Select(d => d.Value).ToArray(), "H and W fixed; the batch of 1 made symbolic again");
        Assert.IsNull(prepared.FixedBatchSize);
        var wrongSize = NamedTensor.FromFloats("x", new float[3 * 8 * 8], 1, 3, 8, 8);
        var e = Assert.ThrowsExactly<ArgumentException>(() => prepared.Calibrate([[wrongSize]]));
        StringAssert.Contains(e.Message, "expects dimension 2 = 16");
        prepared.Calibrate([[NamedTensor.FromFloats("x", ShapeModels.RandomValues(2 * 3 * 16 * 16, 3), 2, 3, 16, 16)]]);
        Assert.AreEqual(2, prepared.Convert().Report.CalibrationBatchSize);
    }

    [TestMethod]
    public void AWrongInputNameIsAnErrorNamingItAndListingTheInputs()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => QuantizationFlow.Prepare(ShapeModels.SymbolicHeightWidth(), Quantizer(),
            new PrepareOptions { InputShapes = new Dictionary<string, int[]> { ["image"] = [1, 3, 16, 16] } }));
        StringAssert.Contains(e.Message, "'image'");
        StringAssert.Contains(e.Message, "x: Float[N, 3, H, W]");
    }

    [TestMethod]
    [DataRow(new[] { 1, 3, 16 }, "rank 3")]
    [DataRow(new[] { 1, 4, 16, 16 }, "fixes it at 3")]
    [DataRow(new[] { 1, 3, 0, 16 }, "not positive")]
    public void AShapeContradictingTheModelIsAnError(int[] dims, string expected)
    {
        var graph = OnnxGraph.FromModel(ShapeModels.SymbolicHeightWidth());
        var e = Assert.ThrowsExactly<ArgumentException>(() => MLNet.Quantization.Shapes.InputShapeOverrides.Apply(graph, new Dictionary<string, int[]> { ["x"] = dims }));
        StringAssert.Contains(e.Message, expected);
    }

    private static float InputScale(MLNet.Quantization.Onnx.OnnxModel model)
    {
        var graph = OnnxGraph.FromModel(model);
        var q = graph.Nodes.First(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "x");
        return graph.Initializers[q.Inputs[1]].ToFloatArray()[0];
    }
}
