using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Backends.OnnxRuntime;

/// <summary>
/// A dynamic Gemm becomes ORT's <c>com.microsoft:DynamicQuantizeMatMul</c>: ORT fuses dynamic QDQ only around
/// MatMul, and its level-1 MatMulAddFusion would turn a 2-D MatMul + bias back into a float Gemm first.
/// The int8 weight is laid out [K, N] with one scale per output column.
/// </summary>
internal static class OrtDynamicGemm
{
    /// <summary>Rewrites every plain Gemm with a dynamic activation and an int8 weight; returns the rewritten nodes.</summary>
    public static IReadOnlySet<OnnxNode> Write(OnnxGraph graph, IReadOnlyList<(QuantizationEdge Edge, QuantGroup Group)> edges)
    {
        var rewritten = new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);
        foreach (var (edge, group) in edges.Where(e => e.Edge.IsInput && e.Edge.Index == 0 && e.Group.Kind == QuantGroupKind.Dynamic && IsPlainGemm(graph, e.Edge.Node)).ToList())
        {
            var weight = edges.FirstOrDefault(e => e.Edge.IsInput && e.Edge.Node == edge.Node && e.Edge.Index == 1).Group;
            if (weight?.QParams is { DataType: QuantDataType.Int8 } wq)
            {
                WriteDynamicGemm(graph, edge.Node, wq);
                rewritten.Add(edge.Node);
            }
        }

        return rewritten;
    }

    private static bool IsPlainGemm(OnnxGraph graph, OnnxNode node) =>
        node.OpType == "Gemm" && node.GetInt("transA", 0) == 0 && node.GetFloat("alpha", 1f) == 1f && node.GetFloat("beta", 1f) == 1f
        && graph.TryGetConstant(node.Inputs[1], out var b) && b.Dims.Count == 2
        && (node.Inputs.Count < 3 || node.Inputs[2].Length == 0 || (graph.TryGetConstant(node.Inputs[2], out var c) && c.Dims.Count == 1));

    private static void WriteDynamicGemm(OnnxGraph graph, OnnxNode gemm, QParams weightQParams)
    {
        graph.TryGetConstant(gemm.Inputs[1], out var b);
        var values = b!.ToFloatArray();
        int rows = (int)b.Dims[0], cols = (int)b.Dims[1];
        bool transB = gemm.GetInt("transB", 0) == 1;
        var quantized = new sbyte[values.Length];
        QuantizeKernels.Quantize<sbyte>(values, [rows, cols], weightQParams, quantized);
        int k = transB ? cols : rows, n = transB ? rows : cols;
        var kn = new sbyte[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
                kn[transB ? c * n + r : r * n + c] = quantized[r * cols + c];
        }

        long[] qDims = weightQParams.IsPerChannel ? [n] : [];
        string w = graph.AddInitializer(TensorData.FromInt8(gemm.Inputs[1] + "_quantized", [k, n], kn));
        string scale = graph.AddInitializer(TensorData.FromFloats(gemm.Inputs[1] + "_scale", qDims, weightQParams.Scales));
        string zp = graph.AddInitializer(TensorData.FromInt8(gemm.Inputs[1] + "_zero_point", qDims, weightQParams.ZeroPoints.Select(z => (sbyte)z).ToArray()));
        var inputs = new List<string> { gemm.Inputs[0], w, scale, zp };
        if (gemm.Inputs.Count > 2 && gemm.Inputs[2].Length > 0)
            inputs.Add(gemm.Inputs[2]);
        string output = gemm.Outputs[0];
        string name = gemm.Name;
        graph.RemoveNode(gemm, replacingProducer: true);
        graph.AddNode("DynamicQuantizeMatMul", inputs, [output], name, "com.microsoft");
        if (graph.GetOpsetVersion("com.microsoft") == 0)
            graph.SetOpsetVersion("com.microsoft", 1);
    }
}
