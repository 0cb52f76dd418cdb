// ML.NET pipeline: raw Fashion-MNIST pixels → normalise (ML.NET Expression transform) → Quantize (int8, calibrated on
// 512 training rows) → logits; then accuracy and rows/s against ML.NET's ApplyOnnxModel on the float model, and a
// save/load round trip with mlContext.Model.
//   dotnet run --project examples/MLNetPipeline -c Release [-- --full]
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization;
using MLNet.Quantization.Samples;

bool full = args.Contains("--full");
string dataDir = full && Directory.Exists(FashionMnist.DefaultDirectory) ? FashionMnist.DefaultDirectory : Path.Combine(AppContext.BaseDirectory, "data");
string modelPath = Path.Combine(AppContext.BaseDirectory, "models", "fmnist_cnn.onnx");
var ml = new MLContext(seed: 1);
var train = ToView(ml, FashionMnist.Load(dataDir, train: true, maxCount: 512, normalize: false));
var test = ToView(ml, FashionMnist.Load(dataDir, train: false, normalize: false));

// The model wants (x / 255 − 0.2860) / 0.3530 in a column named like its input, "input".
var normalize = ml.Transforms.Expression("input", "x => (x / 255 - 0.286) / 0.353", "Pixels");
var pipeline = normalize.Append(ml.Transforms.Quantize(new QuantizationOptions
{
    ModelFile = modelPath,
    Mode = QuantizationMode.Static,
    MaxCalibrationRows = 512,
    Progress = new Progress<MLNet.Quantization.Calibration.CalibrationProgress>(p => Console.Error.Write($"\rcalibrating: {p.Samples} rows")),
}));
var model = pipeline.Fit(train);
Console.Error.WriteLine();
var quantizer = (QuantizedModelTransformer)model.LastTransformer;
Console.WriteLine(quantizer.QuantizationReport);

var floatModel = normalize.Append(ml.Transforms.ApplyOnnxModel(modelPath)).Fit(train);
var (fp32, fp32Rate) = Evaluate(floatModel.Transform(test));
var (int8, int8Rate) = Evaluate(model.Transform(test));
Console.WriteLine($"top-1 accuracy: fp32 {fp32:P2}, int8 {int8:P2} (drop {(fp32 - int8) * 100:F2} points)");
Console.WriteLine($"scoring: ApplyOnnxModel fp32 {fp32Rate:N0} rows/s, Quantize int8 {int8Rate:N0} rows/s ({int8Rate / fp32Rate:F2}×)");

// Save and load: the loaded model's quantizer is ML.NET's own OnnxTransformer running the int8 model.
string zip = Path.Combine(Path.GetTempPath(), "fmnist_cnn.int8.mlnet.zip");
ml.Model.Save(model, train.Schema, zip);
var loaded = ml.Model.Load(zip, out _);
var (reloaded, reloadedRate) = Evaluate(loaded.Transform(test));
Console.WriteLine($"saved to {zip}; reloaded accuracy {reloaded:P2} at {reloadedRate:N0} rows/s (one row per run)");
quantizer.ExportOnnx(Path.Combine(Path.GetTempPath(), "fmnist_cnn.int8.onnx"));
quantizer.Dispose();

// Accuracy from one pass; speed as the median of three more passes, after that first (warm-up) pass.
static (double Accuracy, double RowsPerSecond) Evaluate(IDataView scored)
{
    var (accuracy, _) = Pass(scored);
    var rates = Enumerable.Range(0, 3).Select(_ => Pass(scored).RowsPerSecond).Order().ToList();
    return (accuracy, rates[1]);
}

static (double Accuracy, double RowsPerSecond) Pass(IDataView scored)
{
    var logits = scored.Schema["logits"];
    var label = scored.Schema["Label"];
    var watch = Stopwatch.StartNew();
    using var cursor = scored.GetRowCursor([logits, label]);
    var getLogits = cursor.GetGetter<VBuffer<float>>(logits);
    var getLabel = cursor.GetGetter<int>(label);
    VBuffer<float> value = default;
    int labelValue = 0, rows = 0, correct = 0;
    while (cursor.MoveNext())
    {
        getLogits(ref value);
        getLabel(ref labelValue);
        var v = value.GetValues();
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
                best = i;
        }

        correct += best == labelValue ? 1 : 0;
        rows++;
    }

    return ((double)correct / rows, rows / watch.Elapsed.TotalSeconds);
}

static IDataView ToView(MLContext ml, FashionMnist data) =>
    ml.Data.LoadFromEnumerable(Enumerable.Range(0, data.Count).Select(i => new ImageRow { Pixels = data.Image(i).ToArray(), Label = data.Labels[i] }).ToList());

/// <summary>One image: raw 0–255 pixels and its label.</summary>
internal sealed class ImageRow
{
    [VectorType(784)]
    public float[] Pixels { get; set; } = [];

    public int Label { get; set; }
}
