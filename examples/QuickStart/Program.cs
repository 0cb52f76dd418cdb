// Quick start: quantize the bundled Fashion-MNIST CNN to int8 with the X86 default config, then compare accuracy,
// size and speed against the float model in ONNX Runtime, and write the QDQ model.
//   dotnet run --project examples/QuickStart -c Release [-- --full] [-- --output path.onnx]
using System.Diagnostics;
using MLNet.Quantization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

bool full = args.Contains("--full");
int outputIndex = Array.IndexOf(args, "--output");
string output = outputIndex >= 0 && outputIndex + 1 < args.Length ? args[outputIndex + 1] : Path.Combine(Environment.CurrentDirectory, "fmnist_cnn.int8.onnx");
string bundled = Path.Combine(AppContext.BaseDirectory, "data");
string dataDir = full && Directory.Exists(FashionMnist.DefaultDirectory) ? FashionMnist.DefaultDirectory : bundled;

var model = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "models", "fmnist_cnn.onnx"));
var calibration = FashionMnist.Load(dataDir, train: true, maxCount: 512);
var test = FashionMnist.Load(dataDir, train: false);
Console.WriteLine($"model: fmnist_cnn ({model.ProducerName}, opset {model.OpsetImports[""]}); data: {dataDir} ({test.Count} test images)");

// PT2E flow: prepare (fold BN, annotate with the X86 quantizer, insert observers) → calibrate → convert to QDQ.
var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
var prepared = QuantizationFlow.Prepare(model, quantizer);
var progress = Console.IsErrorRedirected ? null : new Progress<CalibrationProgress>(p => Console.Error.Write($"\rcalibrating: {p.Samples} samples"));
prepared.Calibrate(calibration.Batches("input", 64), progress);
if (progress is not null)
    Console.Error.WriteLine();
var quantized = prepared.Convert();
quantized.Save(output);
Console.WriteLine(quantized.Report);

using var fp32 = new ModelRunner(model);
using var int8 = new ModelRunner(quantized.Model);
double fp32Accuracy = fp32.Accuracy(test.Images, test.Labels);
double int8Accuracy = int8.Accuracy(test.Images, test.Labels);
Console.WriteLine($"top-1 accuracy: fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2} (drop {(fp32Accuracy - int8Accuracy) * 100:F2} points)");

// Speed: batches of 32, the two models alternating (ABBA) in one run after a warm-up; median of each, as a ratio.
// On a shared or just-busy machine (right after a build, say) single figures swing; the ratio is what to compare.
var batch = test.Images.AsSpan(0, 32 * test.ImageSize).ToArray();
for (int i = 0; i < 20; i++)
{
    fp32.Run(batch, 32);
    int8.Run(batch, 32);
}

var timesFp32 = new List<double>();
var timesInt8 = new List<double>();
for (int i = 0; i < 200; i++)
{
    if (i % 2 == 0)
    {
        timesFp32.Add(Time(() => fp32.Run(batch, 32)));
        timesInt8.Add(Time(() => int8.Run(batch, 32)));
    }
    else
    {
        timesInt8.Add(Time(() => int8.Run(batch, 32)));
        timesFp32.Add(Time(() => fp32.Run(batch, 32)));
    }
}

double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
Console.WriteLine($"speed at batch 32: fp32 {Median(timesFp32):F2} ms, int8 {Median(timesInt8):F2} ms → {Median(timesFp32) / Median(timesInt8):F2}× faster");
Console.WriteLine($"wrote {output}");

static double Time(Action action)
{
    var watch = Stopwatch.StartNew();
    action();
    return watch.Elapsed.TotalMilliseconds;
}
