// TorchSharp end to end: train a small CNN in TorchSharp, capture it to ONNX, then quantize it post-training (PTQ)
// and with quantization-aware training (QAT: fine-tune with fake quantization placed exactly where the X86
// post-training flow quantizes, then convert to the same QDQ ONNX model). Compares fp32, PTQ and QAT accuracy with
// 8-bit and with 4-bit weights in ONNX Runtime.
//   dotnet run --project examples/TorchSharpQat -c Release [-- --full] [-- --model fmnist_cnn|fmnist_mobile]
// --model starts from a bundled ONNX model (trained by PyTorch) instead of training one in TorchSharp.
// --full uses the full Fashion-MNIST (apt-get install dataset-fashion-mnist): one epoch over 60,000 training images,
// 10,000 test images. Without it, the bundled slice: 512 training images (3 QAT epochs), 2,000 test images.
using MLNet.Quantization;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;
using MLNet.Quantization.TorchSharp;

bool full = args.Contains("--full") && Directory.Exists(FashionMnist.DefaultDirectory);
int modelIndex = Array.IndexOf(args, "--model");
string name = modelIndex >= 0 && modelIndex + 1 < args.Length ? args[modelIndex + 1] : "torchsharp_cnn";
string dataDir = full ? FashionMnist.DefaultDirectory : Path.Combine(AppContext.BaseDirectory, "data");
var train = FashionMnist.Load(dataDir, train: true);
var test = FashionMnist.Load(dataDir, train: false);
OnnxModel model;
if (name == "torchsharp_cnn")
{
    // Train in TorchSharp, then capture the module (eval semantics, BatchNorm with running statistics) to ONNX.
    Console.WriteLine($"training a small CNN in TorchSharp on {train.Count} images");
    var net = TorchSharpQatExample.SmallCnn.Train(train, epochs: full ? 2 : 8);
    model = TorchSharpExporter.Export(net, [1, 1, 28, 28], Path.Combine(Environment.CurrentDirectory, name + ".onnx"));
}
else
{
    model = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "models", name + ".onnx"));
}

int epochs = full ? 1 : 3;
Console.WriteLine($"{name}: {train.Count} training images ({epochs} epoch(s)), {test.Count} test images from {dataDir}");

// 4-bit weights: int8 storage (ONNX Runtime's kernels), quantized range [-8, 7].
static QuantizationConfig FourBit(QuantizationConfig c) => c with { Weight = c.Weight! with { QuantMin = -8, QuantMax = 7 } };

double Accuracy(OnnxModel m)
{
    using var runner = new ModelRunner(m);
    return runner.Accuracy(test.Images, test.Labels);
}

var calibrationSet = FashionMnist.Load(dataDir, train: true, maxCount: 512);
IEnumerable<IReadOnlyList<MLNet.Quantization.Calibration.NamedTensor>> Calibration() => calibrationSet.Batches("input", 64);

double PostTraining(QuantizationConfig config)
{
    var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(config));
    prepared.Calibrate(Calibration());
    return Accuracy(prepared.Convert().Model);
}

double AwareTraining(QuantizationConfig config, string label)
{
    using var qat = QuantizationAwareTraining.Prepare(model, config);
    qat.Calibrate(Calibration());                      // initialise the observers, as post-training quantization does
    var progress = new Progress<QatProgress>(p =>
    {
        if (p.IsEndOfEpoch)
            Console.WriteLine($"  {label} epoch {p.Epoch}: mean loss {p.EpochLoss:F4} ({p.Elapsed.TotalSeconds:F0} s)");
    });
    qat.Train(train.Images, train.Labels, new QatTrainingOptions { Epochs = epochs, LearningRate = 1e-4 }, progress);
    var quantized = qat.Convert();                     // trained weights → same QDQ ONNX as post-training quantization
    quantized.Save(Path.Combine(Environment.CurrentDirectory, $"{name}.{label}.onnx"));
    return Accuracy(quantized.Model);
}

double fp32 = Accuracy(model);
double ptq8 = PostTraining(X86Quantizer.GetDefaultConfig());
double qat8 = AwareTraining(X86Quantizer.GetDefaultConfig(isQat: true), "qat-int8");
double ptq4 = PostTraining(FourBit(X86Quantizer.GetDefaultConfig()));
double qat4 = AwareTraining(FourBit(X86Quantizer.GetDefaultConfig(isQat: true)), "qat-4bit");

Console.WriteLine($"top-1 accuracy on {test.Count} test images:");
Console.WriteLine($"  fp32            {fp32:P2}");
Console.WriteLine($"  int8  PTQ  {ptq8:P2}   QAT {qat8:P2}");
Console.WriteLine($"  4-bit PTQ  {ptq4:P2}   QAT {qat4:P2}");
Console.WriteLine($"wrote {name}.qat-int8.onnx and {name}.qat-4bit.onnx");
