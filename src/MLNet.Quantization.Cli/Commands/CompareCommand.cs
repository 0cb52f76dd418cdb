using System.CommandLine;
using System.Text.Json.Serialization;
using MLNet.Quantization.Cli.Plotting;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>compare --float F.onnx --quantized Q.onnx --data FILE [--samples N] [--json FILE] [--plot FILE.png]</c>: the numeric
/// suite. Per-layer SQNR of the weights and activations (float against quantized, worst first) and of the model outputs.
/// </summary>
internal static class CompareCommand
{
    public static Command Create(TextWriter stdout)
    {
        var floatModel = new Option<string>("--float") { Description = "The float ONNX model.", Required = true };
        var quantizedModel = new Option<string>("--quantized") { Description = "The quantized (QDQ) ONNX model, from this tool or another.", Required = true };
        var data = new Option<string>("--data") { Description = "Samples (.npy, .npz or .csv) for the float model's inputs.", Required = true };
        var samples = new Option<int>("--samples") { Description = "Use the first N samples.", DefaultValueFactory = _ => 512 };
        var json = new Option<string?>("--json") { Description = "Also write the numbers as JSON." };
        var plot = new Option<string?>("--plot") { Description = "Write a PNG bar chart of the per-layer activation SQNR." };
        var timeout = TimeoutOption.Create();
        var command = new Command("compare", "Numeric suite: SQNR of weights, activations and outputs, float against quantized.") { floatModel, quantizedModel, data, samples, json, plot, timeout };
        command.SetAction(parse =>
        {
            OutputPath.Check(parse.GetValue(json), "--json");
            OutputPath.Check(parse.GetValue(plot), "--plot");
            int n = parse.GetValue(samples);
            if (n <= 0)
                throw new CliException($"--samples must be positive, got {n}");
            string floatPath = parse.GetValue(floatModel)!;
            string quantizedPath = parse.GetValue(quantizedModel)!;
            var floatOnnx = CommonOptions.LoadModel(floatPath, "--float");
            var quantizedOnnx = CommonOptions.LoadModel(quantizedPath, "--quantized");
            if (!OnnxGraph.FromModel(quantizedOnnx).Nodes.Any(node => node.OpType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "DynamicQuantizeMatMul"))
                throw new CliException($"--quantized: '{quantizedPath}' has no QuantizeLinear/DequantizeLinear nodes; it is not a QDQ model");
            var batches = ModelInputs.Batches(OnnxGraph.FromModel(floatOnnx), parse.GetValue(data)!, n);
            var report = TimeoutOption.Run(parse.GetValue(timeout), token => NumericSuite.Compare(floatOnnx, quantizedOnnx, batches, token));

            stdout.WriteLine($"compared {quantizedPath} with {floatPath} on {report.Samples} samples");
            stdout.WriteLine(report.ToString());
            if (parse.GetValue(json) is { } jsonPath)
                CommonOptions.WriteJson(jsonPath, ToJson(floatPath, quantizedPath, report), CompareJson.Default.CompareResult);
            if (parse.GetValue(plot) is { } plotPath)
            {
                SqnrPlot.Save(report, plotPath, $"{Path.GetFileName(quantizedPath)} vs {Path.GetFileName(floatPath)}: per-layer SQNR");
                stdout.WriteLine($"plot: {plotPath} ({SqnrPlot.Width}×{SqnrPlot.Height} PNG)");
            }

            return 0;
        });
        return command;
    }

    private static CompareResult ToJson(string floatPath, string quantizedPath, SqnrReport report) => new(
        floatPath,
        quantizedPath,
        report.Samples,
        report.Outputs.Select(o => new OutputEntry(o.Name, Db(o.SqnrDb), o.Top1Agreement)).ToList(),
        report.Activations.Select(a => new ActivationEntry(a.Tensor, a.QuantizedTensor, a.Producer, a.Consumers.ToList(), Db(a.SqnrDb))).ToList(),
        report.Weights.Select(w => new WeightEntry(w.FloatName, w.QuantizedName, w.NodeName, w.OpType, w.Role, Db(w.SqnrDb), w.ChannelAxis, w.WorstChannel, Db(w.WorstChannelSqnrDb), w.PerChannel)).ToList(),
        report.Unmatched.Select(u => new UnmatchedEntry(u.Name, u.Reason)).ToList());

    /// <summary>JSON has no infinity: finite values are numbers, the others the strings "inf", "-inf" or "nan".</summary>
    private static object Db(double value) => double.IsFinite(value) ? Math.Round(value, 4) : SqnrReport.FormatDb(value);
}

/// <summary>The <c>compare --json</c> result.</summary>
internal sealed record CompareResult(
    [property: JsonPropertyName("float_model")] string FloatModel,
    [property: JsonPropertyName("quantized_model")] string QuantizedModel,
    [property: JsonPropertyName("samples")] long Samples,
    [property: JsonPropertyName("outputs")] List<OutputEntry> Outputs,
    [property: JsonPropertyName("activations")] List<ActivationEntry> Activations,
    [property: JsonPropertyName("weights")] List<WeightEntry> Weights,
    [property: JsonPropertyName("unmatched")] List<UnmatchedEntry> Unmatched);

/// <summary>A model output in the <c>compare</c> result.</summary>
internal sealed record OutputEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sqnr_db")] object SqnrDb,
    [property: JsonPropertyName("top1_agreement")] double? Top1Agreement);

/// <summary>An activation in the <c>compare</c> result.</summary>
internal sealed record ActivationEntry(
    [property: JsonPropertyName("tensor")] string Tensor,
    [property: JsonPropertyName("quantized_tensor")] string QuantizedTensor,
    [property: JsonPropertyName("producer")] string Producer,
    [property: JsonPropertyName("consumers")] List<string> Consumers,
    [property: JsonPropertyName("sqnr_db")] object SqnrDb);

/// <summary>A weight in the <c>compare</c> result.</summary>
internal sealed record WeightEntry(
    [property: JsonPropertyName("float_name")] string FloatName,
    [property: JsonPropertyName("quantized_name")] string QuantizedName,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("op_type")] string OpType,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("sqnr_db")] object SqnrDb,
    [property: JsonPropertyName("channel_axis")] int? ChannelAxis,
    [property: JsonPropertyName("worst_channel")] int? WorstChannel,
    [property: JsonPropertyName("worst_channel_sqnr_db")] object WorstChannelSqnrDb,
    [property: JsonPropertyName("per_channel")] bool PerChannel);

/// <summary>An unmatched tensor in the <c>compare</c> result.</summary>
internal sealed record UnmatchedEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("reason")] string Reason);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(CompareResult))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(string))]
internal sealed partial class CompareJson : JsonSerializerContext;
