using System.CommandLine;
using System.Text.Json.Serialization;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>inspect --model M.onnx [--json FILE]</c>: inputs, outputs, op types, QDQ node units and ORT's fused kernels.</summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The ONNX model.", Required = true };
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON." };
        var command = new Command("inspect", "Describe a model: inputs, outputs, op types, quantized node units and the kernels ONNX Runtime fuses them into.") { model, json };
        command.SetAction(parse =>
        {
            OutputPath.Check(parse.GetValue(json), "--json");
            string path = parse.GetValue(model)!;
            var onnx = CommonOptions.LoadModel(path);
            var graph = OnnxGraph.FromModel(onnx);
            var ops = graph.Nodes.GroupBy(n => n.IsDefaultDomain ? n.OpType : $"{n.Domain}:{n.OpType}")
                .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
            // a QDQ node unit: a compute node reading at least one DequantizeLinear output
            var units = graph.Nodes.Where(n => n.OpType is not ("QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear")
                    && n.Inputs.Any(i => graph.GetProducer(i)?.OpType == "DequantizeLinear"))
                .GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
            var fused = FusedGraphInspector.OptimizedOpTypes(onnx.ToBytes(), modelName: path).OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => k.Value);
            var census = FusedGraphInspector.Int8Census(onnx.ToBytes(), modelName: path);
            var result = new InspectResult(
                path,
                graph.Inputs.Select(v => new TensorSummary(v.Name, v.ElementType.ToString(), Shape(v))).ToList(),
                graph.Outputs.Select(v => new TensorSummary(v.Name, v.ElementType.ToString(), Shape(v))).ToList(),
                ops, units, fused, census.Int8Kernels.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => k.Value), census.UnfusedCompute.ToList());
            stdout.WriteLine($"model: {path}");
            foreach (var i in result.Inputs)
                stdout.WriteLine($"input  {i.Name}: {i.ElementType}[{i.Shape}]");
            foreach (var o in result.Outputs)
                stdout.WriteLine($"output {o.Name}: {o.ElementType}[{o.Shape}]");
            stdout.WriteLine($"op types: {string.Join(", ", ops.Select(k => $"{k.Key} {k.Value}"))}");
            stdout.WriteLine(units.Count == 0 ? "quantized node units: none" : $"quantized node units: {string.Join(", ", units.Select(k => $"{k.Key} {k.Value}"))}");
            stdout.WriteLine($"after ONNX Runtime optimization: {string.Join(", ", fused.Select(k => $"{k.Key} {k.Value}"))}");
            stdout.WriteLine($"int8 kernels ONNX Runtime runs: {census}");
            if (parse.GetValue(json) is { } jsonPath)
                CommonOptions.WriteJson(jsonPath, result, InspectJson.Default.InspectResult);
            return 0;
        });
        return command;
    }

    private static string Shape(ValueInfo v) => v.Shape is null ? "?" : string.Join(", ", v.Shape);
}

/// <summary>A model input or output in the <c>inspect</c> result.</summary>
internal sealed record TensorSummary(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("element_type")] string ElementType,
    [property: JsonPropertyName("shape")] string Shape);

/// <summary>The <c>inspect --json</c> result.</summary>
internal sealed record InspectResult(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("inputs")] List<TensorSummary> Inputs,
    [property: JsonPropertyName("outputs")] List<TensorSummary> Outputs,
    [property: JsonPropertyName("op_types")] Dictionary<string, int> OpTypes,
    [property: JsonPropertyName("quantized_node_units")] Dictionary<string, int> QuantizedNodeUnits,
    [property: JsonPropertyName("fused_op_types")] Dictionary<string, int> FusedOpTypes,
    [property: JsonPropertyName("int8_kernels")] Dictionary<string, int> Int8Kernels,
    [property: JsonPropertyName("unfused_quantized")] List<string> UnfusedQuantized);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(InspectResult))]
internal sealed partial class InspectJson : JsonSerializerContext;
