// A custom quantizer end to end: quantize the bundled Fashion-MNIST CNN with PerTensorQuantizer (per-tensor weights,
// MinMax activations) and with the X86 default (per-channel weights, histogram activations), and compare accuracy,
// what was quantized, and what stayed in float.
//   dotnet run --project examples/CustomQuantizer -c Release
using CustomQuantizerExample;
using MLNet.Quantization;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

string dataDir = Path.Combine(AppContext.BaseDirectory, "data");
var model = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "models", "fmnist_cnn.onnx"));
var calibration = FashionMnist.Load(dataDir, train: true, maxCount: 512);
var test = FashionMnist.Load(dataDir, train: false);

using var fp32 = new ModelRunner(model);
Console.WriteLine($"fp32: top-1 {fp32.Accuracy(test.Images, test.Labels):P2} on {test.Count} test images");

foreach (var (name, quantizer) in new (string, Quantizer)[]
{
    ("PerTensorQuantizer", new PerTensorQuantizer()),
    ("X86Quantizer default", new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig())),
})
{
    var prepared = QuantizationFlow.Prepare(model, quantizer);
    prepared.Calibrate(calibration.Batches("input", 64));
    var quantized = prepared.Convert();
    using var int8 = new ModelRunner(quantized.Model);
    Console.WriteLine();
    Console.WriteLine($"{name}: top-1 {int8.Accuracy(test.Images, test.Labels):P2}, {quantized.Report.CompressionRatio:F2}× smaller");
    Console.WriteLine($"  quantized: {string.Join(", ", quantized.Report.QuantizedNodesByOpType.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} ×{k.Value}"))}");
    foreach (var node in quantized.Report.NodesLeftInFloat)
        Console.WriteLine($"  float: {node.OpType} '{node.Name}': {node.Reason}");
}
