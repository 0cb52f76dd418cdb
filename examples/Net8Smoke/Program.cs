// .NET 8 smoke test: quantize the bundled Fashion-MNIST CNN on 64 calibration images with the X86 default config,
// score the int8 model with ONNX Runtime on the bundled test slice, write it, print one line; exit 0 when it scores.
//   dotnet publish examples/Net8Smoke -c Release -f net8.0 -r linux-x64 --self-contained -o out && out/Net8Smoke --output m.onnx
using System.Runtime.InteropServices;
using MLNet.Quantization;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

int outputIndex = Array.IndexOf(args, "--output");
string output = outputIndex >= 0 && outputIndex + 1 < args.Length ? args[outputIndex + 1] : Path.Combine(Path.GetTempPath(), "fmnist_cnn.net8smoke.onnx");
string data = Path.Combine(AppContext.BaseDirectory, "data");

var model = OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "models", "fmnist_cnn.onnx"));
var calibration = FashionMnist.Load(data, train: true, maxCount: 64);
var test = FashionMnist.Load(data, train: false);

var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
prepared.Calibrate(calibration.Batches("input", 32));
var quantized = prepared.Convert();
quantized.Save(output);

using var int8 = new ModelRunner(quantized.Model);
double accuracy = int8.Accuracy(test.Images, test.Labels);
Console.WriteLine($"{RuntimeInformation.FrameworkDescription}: quantized fmnist_cnn on {calibration.Count} samples; int8 top-1 {accuracy:P2} on {test.Count} test images; wrote {output}");
return accuracy > 0.8 ? 0 : 1;
