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

    /// <summary>
    /// Rewrites every edge; <paramref name="edges"/> are in graph order, inputs before outputs, without the edges of
    /// nodes the backend rules already wrote as runtime operators (<see cref="BackendRules"/>).
    /// </summary>
    public void Write(IReadOnlyList<(QuantizationEdge Edge, QuantGroup Group)> edges)
    {
        foreach (var (edge, group) in edges.Where(e => e.Edge.IsInput))
            WriteInput(edge.Node, edge.Index, group);
        foreach (var (edge, group) in edges.Where(e => !e.Edge.IsInput))
            WriteOutput(edge.Node.Outputs[edge.Index], group);
        _graph.RemoveUnusedInitializers();
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
