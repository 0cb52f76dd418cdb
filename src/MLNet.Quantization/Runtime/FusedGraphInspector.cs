using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// Asks ONNX Runtime for its optimized graph (<see cref="SessionOptions.OptimizedModelFilePath"/>) and reports the
/// op types it fused QDQ node units into (QLinearConv, QLinearMatMul, QGemm, DynamicQuantizeMatMul, ...).
/// </summary>
internal static class FusedGraphInspector
{
    private static readonly HashSet<string> FloatCompute = new(StringComparer.Ordinal) { "Conv", "MatMul", "Gemm", "FusedConv", "FusedGemm", "FusedMatMul" };

    /// <summary>The op-type histogram of ORT's optimized model, keyed <c>domain:op</c> (domain omitted for ONNX).</summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="level">ORT's optimization level.</param>
    /// <param name="modelName">The model's name in error messages.</param>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime cannot load the model (its message names the node).</exception>
    public static IReadOnlyDictionary<string, int> OptimizedOpTypes(byte[] model, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, string? modelName = null)
    {
        var graph = Optimize(model, level, modelName);
        return graph.Node.GroupBy(Key).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Float Conv/MatMul/Gemm nodes left in ORT's optimized model whose weight (second input) is a DequantizeLinear
    /// output: quantized compute ORT did not fuse into an int8 kernel. A float node that only reads a dequantized
    /// activation (a layer the quantizer left in float after a quantized one) is not counted.
    /// </summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="level">ORT's optimization level.</param>
    /// <param name="modelName">The model's name in error messages.</param>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime cannot load the model (its message names the node).</exception>
    public static IReadOnlyList<string> UnfusedQuantizedCompute(byte[] model, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, string? modelName = null) =>
        Unfused(Optimize(model, level, modelName));

    /// <summary>
    /// What ONNX Runtime runs in int8 (its optimized graph's int8 kernels) and which quantized compute it leaves in
    /// float, from one optimization of the model.
    /// </summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="level">ORT's optimization level.</param>
    /// <param name="modelName">The model's name in error messages.</param>
    /// <example>
    /// <code language="csharp">
    /// var census = FusedGraphInspector.Int8Census(File.ReadAllBytes("det.int8.onnx"));
    /// Console.WriteLine($"{census.Int8KernelCount} int8 kernels; {census.UnfusedCompute.Count} quantized nodes run in float");
    /// </code>
    /// </example>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime cannot load the model (its message names the node).</exception>
    public static OrtInt8Census Int8Census(byte[] model, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, string? modelName = null)
    {
        var graph = Optimize(model, level, modelName);
        var kernels = graph.Node.Select(Key).Where(OrtInt8Census.IsInt8Kernel).GroupBy(k => k, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new OrtInt8Census(kernels, Unfused(graph));
    }

    private static List<string> Unfused(GraphProto graph)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
                producers[output] = node;
        }

        return graph.Node
            .Where(n => FloatCompute.Contains(n.OpType) && n.Input.Count > 1 && producers.TryGetValue(n.Input[1], out var p) && p.OpType == "DequantizeLinear")
            .Select(n => $"{n.OpType} '{n.Name}'")
            .ToList();
    }

    private static string Key(NodeProto n) => string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx" ? n.OpType : $"{n.Domain}:{n.OpType}";

    private static GraphProto Optimize(byte[] model, GraphOptimizationLevel level, string? modelName)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mlnetq-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = OrtSessionOptions.Create(level))
            {
                options.OptimizedModelFilePath = path;
                using var session = OrtBoundary.CreateSession(model, options, modelName ?? "<bytes>", "optimize it");
            }

            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
