using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Writes Q/DQ into a graph from resolved groups and their qparams: constant tensors become integer initializers
/// with one lone DequantizeLinear per consumer; static activations get one QuantizeLinear per tensor and one
/// DequantizeLinear per consumer (the DuplicateDQ rule, so ORT can fuse every consumer); dynamic activations get
/// one DynamicQuantizeLinear per tensor and one DequantizeLinear per consumer.
/// </summary>
internal sealed class QdqWriter
{
    private readonly OnnxGraph _graph;
    private readonly Dictionary<(string Tensor, int Group), string> _quantizedConstants = [];
    private readonly Dictionary<(string Tensor, int Group), (string Q, string Scale, string ZeroPoint)> _quantizedActivations = [];
    private readonly Dictionary<int, (string Scale, string ZeroPoint)> _qparamInitializers = [];

    public QdqWriter(OnnxGraph graph) => _graph = graph;

    /// <summary>Rewrites every edge; <paramref name="edges"/> are in graph order, inputs before outputs.</summary>
    public void Write(IReadOnlyList<(QuantizationEdge Edge, QuantGroup Group)> edges)
    {
        var rewritten = new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);
        foreach (var (edge, group) in edges.Where(e => e.Edge.IsInput && e.Edge.Index == 0 && e.Group.Kind == QuantGroupKind.Dynamic && IsPlainGemm(e.Edge.Node)).ToList())
        {
            var weight = edges.FirstOrDefault(e => e.Edge.IsInput && e.Edge.Node == edge.Node && e.Edge.Index == 1).Group;
            if (weight?.QParams is { DataType: QuantDataType.Int8 } wq)
            {
                WriteDynamicGemm(edge.Node, wq);
                rewritten.Add(edge.Node);
            }
        }

        edges = edges.Where(e => !rewritten.Contains(e.Edge.Node)).ToList();
        foreach (var (edge, group) in edges.Where(e => e.Edge.IsInput))
            WriteInput(edge.Node, edge.Index, group);
        foreach (var (edge, group) in edges.Where(e => !e.Edge.IsInput))
            WriteOutput(edge.Node.Outputs[edge.Index], group);
        _graph.RemoveUnusedInitializers();
    }

    private bool IsPlainGemm(OnnxNode node) =>
        node.OpType == "Gemm" && node.GetInt("transA", 0) == 0 && node.GetFloat("alpha", 1f) == 1f && node.GetFloat("beta", 1f) == 1f
        && _graph.TryGetConstant(node.Inputs[1], out var b) && b.Dims.Count == 2
        && (node.Inputs.Count < 3 || node.Inputs[2].Length == 0 || (_graph.TryGetConstant(node.Inputs[2], out var c) && c.Dims.Count == 1));

    /// <summary>
    /// A dynamic Gemm becomes ORT's <c>com.microsoft:DynamicQuantizeMatMul</c>: ORT fuses dynamic QDQ only around
    /// MatMul, and its level-1 MatMulAddFusion would turn a 2-D MatMul + bias back into a float Gemm first.
    /// The int8 weight is laid out [K, N] with one scale per output column.
    /// </summary>
    private void WriteDynamicGemm(OnnxNode gemm, QParams weightQParams)
    {
        _graph.TryGetConstant(gemm.Inputs[1], out var b);
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
        string w = _graph.AddInitializer(TensorData.FromInt8(gemm.Inputs[1] + "_quantized", [k, n], kn));
        string scale = _graph.AddInitializer(TensorData.FromFloats(gemm.Inputs[1] + "_scale", qDims, weightQParams.Scales));
        string zp = _graph.AddInitializer(TensorData.FromInt8(gemm.Inputs[1] + "_zero_point", qDims, weightQParams.ZeroPoints.Select(z => (sbyte)z).ToArray()));
        var inputs = new List<string> { gemm.Inputs[0], w, scale, zp };
        if (gemm.Inputs.Count > 2 && gemm.Inputs[2].Length > 0)
            inputs.Add(gemm.Inputs[2]);
        string output = gemm.Outputs[0];
        string name = gemm.Name;
        _graph.RemoveNode(gemm, replacingProducer: true);
        _graph.AddNode("DynamicQuantizeMatMul", inputs, [output], name, "com.microsoft");
        if (_graph.GetOpsetVersion("com.microsoft") == 0)
            _graph.SetOpsetVersion("com.microsoft", 1);
    }

    private void WriteInput(OnnxNode node, int index, QuantGroup group)
    {
        string tensor = node.Inputs[index];
        if (tensor.Length == 0)
            return;
        string dq = group.Kind switch
        {
            QuantGroupKind.Dynamic => DequantizeDynamic(tensor, group),
            _ when _graph.TryGetConstant(tensor, out var constant) => DequantizeConstant(tensor, constant, group),
            _ => DequantizeActivation(tensor, group),
        };
        _graph.ReplaceInput(node, index, dq);
    }

    private void WriteOutput(string tensor, QuantGroup group)
    {
        if (group.Kind is QuantGroupKind.Dynamic or QuantGroupKind.Weight)
            return;
        foreach (var use in _graph.GetConsumers(tensor))
        {
            if (use.Node.OpType == "QuantizeLinear" && _quantizedActivations.Values.Any(v => _graph.GetProducer(v.Q) == use.Node))
                continue;
            _graph.ReplaceInput(use.Node, use.InputIndex, DequantizeActivation(tensor, group));
        }
    }


    private string DequantizeActivation(string tensor, QuantGroup group)
    {
        var qp = group.QParams ?? throw new InvalidOperationException($"No qparams for tensor '{tensor}' ({group}).");
        if (!_quantizedActivations.TryGetValue((tensor, group.Id), out var q))
        {
            var (scale, zp) = QParamInitializers(group, qp, tensor);
            string qOut = _graph.UniqueName(tensor + "_quantized");
            _graph.AddNode("QuantizeLinear", [tensor, scale, zp], [qOut], tensor + "_QuantizeLinear");
            q = (qOut, scale, zp);
            _quantizedActivations[(tensor, group.Id)] = q;
        }

        string dqOut = _graph.UniqueName(tensor + "_dequantized");
        _graph.AddNode("DequantizeLinear", [q.Q, q.Scale, q.ZeroPoint], [dqOut], tensor + "_DequantizeLinear");
        return dqOut;
    }

    private string DequantizeDynamic(string tensor, QuantGroup group)
    {
        if (!_quantizedActivations.TryGetValue((tensor, group.Id), out var q))
        {
            string qOut = _graph.UniqueName(tensor + "_quantized");
            string scale = _graph.UniqueName(tensor + "_scale");
            string zp = _graph.UniqueName(tensor + "_zero_point");
            _graph.AddNode("DynamicQuantizeLinear", [tensor], [qOut, scale, zp], tensor + "_DynamicQuantizeLinear");
            q = (qOut, scale, zp);
            _quantizedActivations[(tensor, group.Id)] = q;
        }

        string dqOut = _graph.UniqueName(tensor + "_dequantized");
        _graph.AddNode("DequantizeLinear", [q.Q, q.Scale, q.ZeroPoint], [dqOut], tensor + "_DequantizeLinear");
        return dqOut;
    }

    private string DequantizeConstant(string tensor, TensorData constant, QuantGroup group)
    {
        var qp = group.QParams ?? throw new InvalidOperationException($"No qparams for constant '{tensor}' ({group}).");
        if (!_quantizedConstants.TryGetValue((tensor, group.Id), out var quantizedName))
        {
            var values = constant.ToFloatArray();
            int[] shape = constant.Shape;
            if (shape.Length == 0)
                shape = [1];
            var dims = constant.Dims.ToArray();
            TensorData quantized = qp.DataType switch
            {
                QuantDataType.Int8 => TensorData.FromInt8(tensor + "_quantized", dims, Quantize<sbyte>(values, shape, qp)),
                QuantDataType.UInt8 => TensorData.FromUInt8(tensor + "_quantized", dims, Quantize<byte>(values, shape, qp)),
                QuantDataType.Int32 => TensorData.FromInt32(tensor + "_quantized", dims, Quantize<int>(values, shape, qp)),
                QuantDataType.Int16 => TensorData.FromInt16(tensor + "_quantized", dims, Quantize<short>(values, shape, qp)),
                QuantDataType.UInt16 => TensorData.FromUInt16(tensor + "_quantized", dims, Quantize<ushort>(values, shape, qp)),
                _ => throw new NotSupportedException($"Cannot quantize '{tensor}' to {qp.DataType}."),
            };
            quantizedName = _graph.AddInitializer(quantized);
            _quantizedConstants[(tensor, group.Id)] = quantizedName;
        }

        var (scale, zp) = QParamInitializers(group, qp, tensor);
        string dqOut = _graph.UniqueName(tensor + "_dequantized");
        var dq = _graph.AddNode("DequantizeLinear", [quantizedName, scale, zp], [dqOut], tensor + "_DequantizeLinear");
        if (qp.IsPerChannel)
            dq.SetInt("axis", qp.Axis!.Value);
        return dqOut;
    }

    private static T[] Quantize<T>(float[] values, int[] shape, QParams qp) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        var result = new T[values.Length];
        QuantizeKernels.Quantize<T>(values, shape, qp, result);
        return result;
    }

    private (string Scale, string ZeroPoint) QParamInitializers(QuantGroup group, QParams qp, string tensor)
    {
        if (_qparamInitializers.TryGetValue(group.Id, out var names))
            return names;
        long[] dims = qp.IsPerChannel ? [qp.Scales.Length] : [];
        string scale = _graph.AddInitializer(TensorData.FromFloats(tensor + "_scale", dims, qp.Scales));
        TensorData zp = qp.DataType switch
        {
            QuantDataType.Int8 => TensorData.FromInt8(tensor + "_zero_point", dims, qp.ZeroPoints.Select(z => (sbyte)z).ToArray()),
            QuantDataType.UInt8 => TensorData.FromUInt8(tensor + "_zero_point", dims, qp.ZeroPoints.Select(z => (byte)z).ToArray()),
            QuantDataType.Int32 => TensorData.FromInt32(tensor + "_zero_point", dims, qp.ZeroPoints),
            QuantDataType.Int16 => TensorData.FromInt16(tensor + "_zero_point", dims, qp.ZeroPoints.Select(z => (short)z).ToArray()),
            QuantDataType.UInt16 => TensorData.FromUInt16(tensor + "_zero_point", dims, qp.ZeroPoints.Select(z => (ushort)z).ToArray()),
            _ => throw new NotSupportedException($"No zero point type for {qp.DataType}."),
        };
        names = (scale, _graph.AddInitializer(zp));
        _qparamInitializers[group.Id] = names;
        return names;
    }
}
