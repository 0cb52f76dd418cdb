using System.CommandLine;
using MLNet.Quantization.Onnx.VersionConversion;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>convert-opset --model IN.onnx --output OUT.onnx [--opset 13]</c>: raises the model's default-domain ONNX opset.</summary>
internal static class ConvertOpsetCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The ONNX model.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the converted model.", Required = true };
        var opset = new Option<int>("--opset") { Description = $"The target opset ({OnnxOpsetConverter.MinSourceOpset + 1}..{OnnxOpsetConverter.MaxTargetOpset}).", DefaultValueFactory = _ => 13 };
        var command = new Command("convert-opset", "Raise a model's ONNX opset, rewriting the operators whose schema changed.") { model, output, opset };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            var onnx = CommonOptions.LoadModel(path);
            int target = parse.GetValue(opset);
            var converted = OnnxOpsetConverter.Convert(onnx, target);
            converted.Save(parse.GetValue(output)!);
            stdout.WriteLine($"{path}: opset {onnx.OpsetImports.GetValueOrDefault("")} -> {target}, written to {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }
}
