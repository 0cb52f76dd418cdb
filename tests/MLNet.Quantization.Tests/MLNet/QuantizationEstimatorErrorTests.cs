using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>Clear exceptions for bad columns and data, and input columns of other numeric types.</summary>
[TestClass]
public sealed class QuantizationEstimatorErrorTests
{
    private sealed class WrongSizeRow
    {
        [VectorType(700)]
        public float[] input { get; set; } = new float[700];
    }

    private sealed class TextRow
    {
        public string input { get; set; } = "";
    }

    private sealed class BoolRow
    {
        [VectorType(784)]
        public bool[] input { get; set; } = new bool[784];
    }

    private sealed class DoubleRow
    {
        [VectorType(784)]
        public double[] input { get; set; } = new double[784];
    }

    private sealed class FloatRow
    {
        [VectorType(784)]
        public float[] input { get; set; } = new float[784];
    }

    private static readonly MLContext Ml = new(seed: 1);

    private static QuantizationEstimator Quantize() => Ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn"));

    [TestMethod]
    public void MissingColumnIsNamedWithTheExpectedTypeAndShape()
    {
        var view = FashionMnistRows.TestView(Ml, 4); // has "Pixels" but no "input"
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().Fit(view));
        StringAssert.Contains(ex.Message, "'input' was not found");
        StringAssert.Contains(ex.Message, "784 values");
        StringAssert.Contains(ex.Message, "[batch, 1, 28, 28]");

        var shape = QuantizationEstimatorTests.SchemaShapeOf(view.Schema);
        var schemaEx = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().GetOutputSchema(shape));
        StringAssert.Contains(schemaEx.Message, "'input' was not found");
    }

    [TestMethod]
    public void WrongVectorSizeIsNamed()
    {
        var view = Ml.Data.LoadFromEnumerable(new[] { new WrongSizeRow() });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().Fit(view));
        StringAssert.Contains(ex.Message, "'input'");
        StringAssert.Contains(ex.Message, "700 values per row");
        StringAssert.Contains(ex.Message, "784 values");
    }

    [TestMethod]
    public void WrongTypeIsNamedInFitAndInGetOutputSchema()
    {
        var text = Ml.Data.LoadFromEnumerable(new[] { new TextRow() });
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().Fit(text));
        StringAssert.Contains(ex.Message, "'input' has type String");

        var bools = Ml.Data.LoadFromEnumerable(new[] { new BoolRow() });
        var boolEx = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().Fit(bools));
        StringAssert.Contains(boolEx.Message, "Boolean");
        var schemaEx = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quantize().GetOutputSchema(QuantizationEstimatorTests.SchemaShapeOf(bools.Schema)));
        StringAssert.Contains(schemaEx.Message, "'input'");
        StringAssert.Contains(schemaEx.Message, "Boolean");
    }

    [TestMethod]
    public void EmptyCalibrationViewThrows()
    {
        var empty = Ml.Data.LoadFromEnumerable(Array.Empty<FloatRow>());
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => Quantize().Fit(empty));
        StringAssert.Contains(ex.Message, "no rows");
    }

    [TestMethod]
    public void UnknownColumnNamesAndBadOptionsThrowAtConstruction()
    {
        var input = Assert.ThrowsExactly<ArgumentException>(() => Ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn"), inputColumnNames: ["pixels"]));
        StringAssert.Contains(input.Message, "'pixels' is not an input of the model");
        var output = Assert.ThrowsExactly<ArgumentException>(() => Ml.Transforms.Quantize(TestPaths.Model("fmnist_cnn"), outputColumnNames: ["score"]));
        StringAssert.Contains(output.Message, "'score' is not an output");
        Assert.ThrowsExactly<ArgumentException>(() => Ml.Transforms.Quantize(new QuantizationOptions()));
        Assert.ThrowsExactly<ArgumentException>(() => Ml.Transforms.Quantize(new QuantizationOptions
        {
            ModelFile = TestPaths.Model("fmnist_cnn"),
            Quantizer = new X86Quantizer(),
            ReduceRange = true,
        }));
    }

    [TestMethod]
    public void DoubleColumnsScoreLikeFloatColumnsHoldingTheSameValues()
    {
        // Every float is exactly representable as a double, so Cast(double → float) in front of the model gives back
        // the same float inputs: the outputs must be identical, batched and through the saved OnnxTransformer.
        var data = TestData.Test;
        var floats = Enumerable.Range(0, 300).Select(i => new FloatRow { input = data.Image(i).ToArray() }).ToList();
        var doubles = floats.Select(r => new DoubleRow { input = r.input.Select(v => (double)v).ToArray() }).ToList();
        var calibFloat = Ml.Data.LoadFromEnumerable(floats);
        var calibDouble = Ml.Data.LoadFromEnumerable(doubles);
        using var fromFloat = Quantize().Fit(calibFloat);
        using var fromDouble = Quantize().Fit(calibDouble);
        var a = ScoredRows.Read(fromFloat.Transform(calibFloat));
        var b = ScoredRows.Read(fromDouble.Transform(calibDouble));
        var c = ScoredRows.Read(fromDouble.OnnxTransformer.Transform(calibDouble));
        Assert.AreEqual(300, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            CollectionAssert.AreEqual(a[i], b[i], $"row {i}");
            CollectionAssert.AreEqual(a[i], c[i], $"row {i}, OnnxTransformer");
        }

        // A transformer fitted on double columns rejects float columns.
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => fromDouble.Transform(calibFloat));
        StringAssert.Contains(ex.Message, "fitted on Double");
    }
}
