using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;

namespace MLNet.Quantization.Diagnostics;

/// <summary>
/// SQNR of every quantized constant (a DequantizeLinear of an integer initializer, or the int8 weight of ONNX Runtime's
/// <c>DynamicQuantizeMatMul</c>) against its float tensor in the float reference graph, per tensor and for the worst
/// output channel.
/// </summary>
/// <remarks>
/// The float tensor is found by name (the quantized initializer's name without its <c>_quantized</c> suffix, as this
/// library and ONNX Runtime's quantizer write it), else as the same input of the node with the same name. A candidate of
/// a different size, or whose node is followed by a BatchNormalization in one model only, is reported as unmatched.
/// </remarks>
internal static class WeightComparison
{
    private const string QuantizedSuffix = "_quantized";

    public static (List<WeightSqnr> Weights, List<UnmatchedTensor> Unmatched) Compare(OnnxGraph reference, OnnxGraph quantized)
    {
        var weights = new List<WeightSqnr>();
        var unmatched = new List<UnmatchedTensor>();
        foreach (var node in quantized.TopologicalOrder())
        {
            if (node.OpType == "DequantizeLinear" && quantized.IsInitializer(node.Inputs[0]))
                CompareDequantized(reference, quantized, node, weights, unmatched);
            else if (node.OpType == "DynamicQuantizeMatMul" && node.Inputs.Count >= 3 && quantized.IsInitializer(node.Inputs[1]))
                CompareDynamicMatMul(reference, quantized, node, weights, unmatched);
        }

        return (weights, unmatched);
    }

    private static void CompareDequantized(OnnxGraph reference, OnnxGraph quantized, OnnxNode dq, List<WeightSqnr> weights, List<UnmatchedTensor> unmatched)
    {
        var q = quantized.Initializers[dq.Inputs[0]];
        if (quantized.GetConsumers(dq.Outputs[0]) is not [var use, ..])
            return; // a dangling DequantizeLinear feeds nothing to compare
        var scales = Constant(quantized, dq.Inputs[1], dq, unmatched);
        if (scales is null)
            return;
        int[] zeroPoints = dq.Inputs.Count > 2 && dq.Inputs[2].Length > 0 && quantized.TryGetConstant(dq.Inputs[2], out var zp)
            ? zp.ToInt64Array().Select(v => (int)v).ToArray()
            : new int[scales.Length];
        int[] shape = q.Shape.Length == 0 ? [1] : q.Shape;
        bool perChannel = scales.Length > 1;
        int? quantAxis = perChannel ? Normalize((int)dq.GetInt("axis", 1), shape.Length) : null;
        var dequantized = Dequantize(q, shape, scales, zeroPoints, quantAxis);

        var consumer = use.Node;
        var match = FindFloat(reference, quantized, q.Name, consumer, use.InputIndex, dequantized.Length);
        if (match.Tensor is null)
        {
            unmatched.Add(new UnmatchedTensor(q.Name, match.Reason!));
            return;
        }

        int? axis = quantAxis ?? OutputChannelAxis(consumer, use.InputIndex, shape.Length);
        weights.Add(Measure(match.Tensor.ToFloatArray(), dequantized, shape, axis, match.Tensor.Name, q.Name, consumer, Role(consumer, use.InputIndex), perChannel));
    }

    /// <summary><c>com.microsoft:DynamicQuantizeMatMul(A, B int8 [K, N], b_scale, b_zero_point, bias)</c>: per-column scales along axis 1.</summary>
    private static void CompareDynamicMatMul(OnnxGraph reference, OnnxGraph quantized, OnnxNode node, List<WeightSqnr> weights, List<UnmatchedTensor> unmatched)
    {
        var q = quantized.Initializers[node.Inputs[1]];
        var scales = Constant(quantized, node.Inputs[2], node, unmatched);
        if (scales is null || q.Shape.Length != 2)
            return;
        int[] zeroPoints = node.Inputs.Count > 3 && node.Inputs[3].Length > 0 && quantized.TryGetConstant(node.Inputs[3], out var zp)
            ? zp.ToInt64Array().Select(v => (int)v).ToArray()
            : new int[scales.Length];
        int k = q.Shape[0], n = q.Shape[1];
        bool perChannel = scales.Length > 1;
        var dequantized = Dequantize(q, q.Shape, scales, zeroPoints, perChannel ? 1 : null);
        var match = FindFloat(reference, quantized, q.Name, node, 1, dequantized.Length);
        if (match.Tensor is null)
        {
            unmatched.Add(new UnmatchedTensor(q.Name, match.Reason!));
            return;
        }

        var values = match.Tensor.ToFloatArray();
        var floatNode = reference.Nodes.FirstOrDefault(f => f.Name == node.Name);
        bool transposed = floatNode is { OpType: "Gemm" } ? floatNode.GetInt("transB", 0) == 1 : match.Tensor.Shape is [var r, _] && r == n && n != k;
        if (transposed)
            values = Transpose(values, n, k);
        weights.Add(Measure(values, dequantized, q.Shape, 1, match.Tensor.Name, q.Name, node, "weight", perChannel));
    }

    private static WeightSqnr Measure(float[] reference, float[] dequantized, int[] shape, int? axis, string floatName, string quantizedName, OnnxNode consumer, string role, bool perChannel)
    {
        double sqnr = Sqnr.Compute(reference, dequantized);
        int? worst = null;
        double worstDb = sqnr;
        if (axis is { } a)
        {
            var channels = Sqnr.ComputePerChannel(reference, dequantized, shape, a);
            worst = 0;
            for (int c = 1; c < channels.Length; c++)
            {
                if (channels[c] < channels[worst.Value] || double.IsNaN(channels[c]))
                    worst = c;
            }

            worstDb = channels[worst.Value];
        }

        return new WeightSqnr(floatName, quantizedName, consumer.Name, consumer.OpType, role, sqnr, axis, worst, worstDb, perChannel);
    }

    private static (TensorData? Tensor, string? Reason) FindFloat(OnnxGraph reference, OnnxGraph quantized, string quantizedName, OnnxNode consumer, int inputIndex, int count)
    {
        TensorData? found = null;
        string floatName = quantizedName.EndsWith(QuantizedSuffix, StringComparison.Ordinal) ? quantizedName[..^QuantizedSuffix.Length] : quantizedName;
        if (floatName.EndsWith(Passes.SmoothQuantPass.Suffix, StringComparison.Ordinal) && !reference.TryGetConstant(floatName, out _))
            return (null, "smoothed by SmoothQuant (W·diag(s)); the recorded float reference is not smoothed");
        if (quantizedName.EndsWith(QuantizedSuffix, StringComparison.Ordinal)
            && reference.TryGetConstant(quantizedName[..^QuantizedSuffix.Length], out var byName) && byName.ElementCount == count)
            found = byName;
        var floatNode = reference.Nodes.FirstOrDefault(n => n.Name == consumer.Name && n.Name.Length > 0);
        if (found is null && floatNode is not null && inputIndex < floatNode.Inputs.Count
            && reference.TryGetConstant(floatNode.Inputs[inputIndex], out var byNode) && byNode.ElementCount == count)
            found = byNode;
        if (found is null)
            return (null, $"no float constant of {count} values named '{quantizedName.Replace(QuantizedSuffix, "", StringComparison.Ordinal)}' or read by node '{consumer.Name}' input {inputIndex}");

        floatNode ??= reference.GetConsumers(found.Name) is [var first, ..] ? first.Node : null;
        if (floatNode is not null && FeedsBatchNorm(reference, floatNode) && !FloatReference.QuantizedConsumers(quantized, consumer.Outputs[0]).Contains("BatchNormalization"))
            return (null, $"in the float model '{found.Name}' feeds '{floatNode.Name}', whose output goes through a BatchNormalization that the quantized model folded; compare against the BN-folded float model");
        return (found, null);
    }

    private static bool FeedsBatchNorm(OnnxGraph graph, OnnxNode node) =>
        node.Outputs.Any(o => graph.GetConsumers(o).Any(c => c.Node.OpType == "BatchNormalization"));

    private static float[]? Constant(OnnxGraph graph, string name, OnnxNode node, List<UnmatchedTensor> unmatched)
    {
        if (graph.TryGetConstant(name, out var tensor))
            return tensor.ToFloatArray();
        unmatched.Add(new UnmatchedTensor(node.Inputs[0], $"the scale '{name}' of {node.OpType} '{node.Name}' is not a constant"));
        return null;
    }

    private static float[] Dequantize(TensorData q, int[] shape, float[] scales, int[] zeroPoints, int? axis)
    {
        var result = new float[q.ElementCount];
        switch (q.ElementType)
        {
            case TensorElementType.Int8: Dequantize<sbyte>(q.ToArray<sbyte>(), shape, scales, zeroPoints, axis, result); break;
            case TensorElementType.UInt8: Dequantize<byte>(q.ToArray<byte>(), shape, scales, zeroPoints, axis, result); break;
            case TensorElementType.Int16: Dequantize<short>(q.ToArray<short>(), shape, scales, zeroPoints, axis, result); break;
            case TensorElementType.UInt16: Dequantize<ushort>(q.ToArray<ushort>(), shape, scales, zeroPoints, axis, result); break;
            case TensorElementType.Int32: Dequantize<int>(q.ToArray<int>(), shape, scales, zeroPoints, axis, result); break;
            default: throw new NotSupportedException($"Quantized tensor '{q.Name}' has element type {q.ElementType}, which DequantizeLinear does not take here.");
        }

        return result;
    }

    private static void Dequantize<T>(T[] values, int[] shape, float[] scales, int[] zeroPoints, int? axis, float[] result)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        if (axis is { } a)
            QuantizeKernels.Dequantize<T>(values, shape, a, scales, zeroPoints, result);
        else
            QuantizeKernels.Dequantize<T>(values, scales[0], zeroPoints[0], result);
    }

    private static int? OutputChannelAxis(OnnxNode consumer, int inputIndex, int rank)
    {
        if (rank < 2 || inputIndex != 1)
            return null;
        return consumer.OpType switch
        {
            "Conv" => 0,
            "ConvTranspose" => 1,
            "Gemm" => consumer.GetInt("transB", 0) == 1 ? 0 : 1,
            "MatMul" => rank - 1,
            _ => null,
        };
    }

    private static string Role(OnnxNode consumer, int inputIndex) => (consumer.OpType, inputIndex) switch
    {
        ("Conv" or "ConvTranspose" or "Gemm" or "MatMul", 1) => "weight",
        ("Conv" or "ConvTranspose" or "Gemm", 2) => "bias",
        _ => "constant",
    };

    private static int Normalize(int axis, int rank) => axis < 0 ? axis + rank : axis;

    private static float[] Transpose(float[] values, int rows, int cols)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = values[r * cols + c];
        }

        return result;
    }
}
