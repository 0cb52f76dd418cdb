using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Samples;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.MLNetIntegration;

/// <summary>One Fashion-MNIST image as an ML.NET row: raw 0–255 pixels and the label.</summary>
public sealed class ImageRow
{
    [VectorType(784)]
    public float[] Pixels { get; set; } = [];

    public int Label { get; set; }
}

/// <summary>Fashion-MNIST (raw pixels) as IDataViews, and the normalising ML.NET transform the models expect.</summary>
internal static class FashionMnistRows
{
    private static readonly Lazy<FashionMnist> RawTest = new(() => FashionMnist.Load(TestPaths.FashionMnistDirectory, train: false, normalize: false));
    private static readonly Lazy<FashionMnist> RawCalib = new(() => FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 512, normalize: false));

    public static FashionMnist Test => RawTest.Value;

    public static IDataView TestView(MLContext ml, int? count = null) => ToView(ml, RawTest.Value, count);

    public static IDataView CalibrationView(MLContext ml) => ToView(ml, RawCalib.Value, null);

    public static IDataView ToView(MLContext ml, FashionMnist data, int? count)
    {
        int n = Math.Min(count ?? data.Count, data.Count);
        var rows = Enumerable.Range(0, n).Select(i => new ImageRow { Pixels = data.Image(i).ToArray(), Label = data.Labels[i] });
        return ml.Data.LoadFromEnumerable(rows.ToList());
    }

    /// <summary>
    /// The bundled models' normalisation, (x / 255 − 0.2860) / 0.3530, element-wise in float with ML.NET's built-in
    /// Expression transform, from "Pixels" into the model input column "input".
    /// </summary>
    public static IEstimator<ITransformer> Normalize(MLContext ml) =>
        ml.Transforms.Expression("input", "x => (x / 255 - 0.286) / 0.353", "Pixels");

    /// <summary>Reads a float vector column and a label column and returns the top-1 agreement and the rows read.</summary>
    public static (double Accuracy, List<float[]> Outputs) Score(IDataView scored, string outputColumn = "logits", string labelColumn = "Label")
    {
        var output = scored.Schema[outputColumn];
        var label = scored.Schema[labelColumn];
        using var cursor = scored.GetRowCursor([output, label]);
        var getOutput = cursor.GetGetter<VBuffer<float>>(output);
        var getLabel = cursor.GetGetter<int>(label);
        VBuffer<float> value = default;
        int labelValue = 0;
        int correct = 0;
        var outputs = new List<float[]>();
        while (cursor.MoveNext())
        {
            getOutput(ref value);
            getLabel(ref labelValue);
            var dense = value.DenseValues().ToArray();
            outputs.Add(dense);
            if (Runtime.ModelRunner.ArgMax(dense) == labelValue)
                correct++;
        }

        return ((double)correct / outputs.Count, outputs);
    }
}
