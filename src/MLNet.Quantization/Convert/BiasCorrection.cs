using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization", sec. 4.2; NNCF's fast bias correction):
/// for each layer with an int8 weight, the float bias becomes <c>b' = b − (Ŵ − W)·E[x]</c>, with Ŵ the dequantized
/// weight and E[x] the per-channel mean of the layer's float input over calibration, so that the int8-weight layer's
/// expected output equals the float layer's. A Conv, ConvTranspose or Gemm without a bias gets one (int32, as
/// quantized biases are); a MatMul is corrected through the constant of the bias Add that follows it, and left as it is
/// without one.
/// </summary>
/// <remarks>
/// Convolutions sum the mean over the whole kernel window, ignoring the zero padding at the borders (as the paper
/// does); a grouped or depthwise convolution uses its group's input channels. ConvTranspose spreads each input over
/// the kernel, so an output position receives on average 1/Π(strides) of the kernel's taps.
/// </remarks>
internal static class BiasCorrection
{
    /// <summary>A layer to correct: <paramref name="Input"/> is its float activation, whose means are taken per <paramref name="Channels"/> on <paramref name="Axis"/> (−1: the last).</summary>
    internal sealed record Target(OnnxNode Node, string Input, int Channels, int Axis);

    /// <summary>
    /// The layers of <paramref name="graph"/> bias correction applies to: Conv, ConvTranspose, Gemm and MatMul whose
    /// input 0 is a statically quantized activation and whose input 1 a constant weight quantized to int8.
    /// </summary>
    public static IReadOnlyList<Target> Targets(OnnxGraph graph, IReadOnlyDictionary<QuantizationEdge, QuantGroup> byEdge)
    {
        var targets = new List<Target>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.OpType is not ("Conv" or "ConvTranspose" or "Gemm" or "MatMul") || !node.IsDefaultDomain || node.Inputs.Count < 2)
                continue;
            if (byEdge.GetValueOrDefault(QuantizationEdge.Input(node, 0)) is not { Kind: QuantGroupKind.Activation }
                || byEdge.GetValueOrDefault(QuantizationEdge.Input(node, 1)) is not { Kind: QuantGroupKind.Weight } weightGroup
                || weightGroup.DataType != QuantDataType.Int8
                || !graph.TryGetConstant(node.Inputs[1], out var weight))
                continue;
            var dims = weight.Shape;
            (int channels, int axis) = node.OpType switch
            {
                "Conv" when dims.Length >= 3 => (dims[1] * (int)node.GetInt("group", 1), 1),
                "ConvTranspose" when dims.Length >= 3 => (dims[0], 1),
                "Gemm" when dims.Length == 2 => (dims[node.GetInt("transB", 0) != 0 ? 1 : 0], node.GetInt("transA", 0) != 0 ? 0 : 1),
                "MatMul" when dims.Length == 2 && MatMulBias(graph, node, dims[1], byEdge) is not null => (dims[0], -1),
                _ => (0, 0),
            };
            if (channels > 0)
                targets.Add(new Target(node, node.Inputs[0], channels, axis));
        }

        return targets;
    }

    /// <summary>
    /// Corrects the biases of <paramref name="targets"/> in <paramref name="graph"/>, the copy of the prepared graph
    /// Convert writes Q/DQ into (<paramref name="map"/> takes prepared nodes to its nodes), before Q/DQ is written.
    /// A new int32 bias gets an edge in <paramref name="edges"/>. Weight and activation qparams must be computed.
    /// </summary>
    /// <returns>How many layers were corrected.</returns>
    public static int Apply(IReadOnlyList<Target> targets, IReadOnlyDictionary<Target, ChannelMeans> means, OnnxGraph floatGraph, OnnxGraph graph,
        IReadOnlyDictionary<OnnxNode, OnnxNode> map, IReadOnlyDictionary<QuantizationEdge, QuantGroup> byEdge, List<(QuantizationEdge Edge, QuantGroup Group)> edges)
    {
        int nextGroupId = byEdge.Values.Select(g => g.Id).DefaultIfEmpty(-1).Max() + 1;
        int corrected = 0;
        foreach (var target in targets)
        {
            if (!means.TryGetValue(target, out var statistic) || !statistic.HasObservations)
                continue;
            var node = target.Node;
            var weightQParams = byEdge[QuantizationEdge.Input(node, 1)].QParams!;
            floatGraph.TryGetConstant(node.Inputs[1], out var weight);
            double[] shift = OutputShift(node, weight!.ToFloatArray(), weight.Shape, weightQParams, statistic.Means());
            var copy = map[node];
            if (node.OpType == "MatMul")
            {
                var add = MatMulBias(floatGraph, node, weight.Shape[1], byEdge)!.Value;
                SetBias(graph, map[add.Node], 1 - add.InputIndex, Subtract(floatGraph, add.Node.Inputs[1 - add.InputIndex], shift, 1));
            }
            else if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
            {
                if (!floatGraph.TryGetConstant(node.Inputs[2], out var existing) || existing.ElementType != TensorElementType.Float || existing.ElementCount != shift.Length)
                    continue; // a broadcast or computed bias: nothing one value per output channel can be written into

                double factor = node.OpType == "Gemm" ? node.GetFloat("alpha", 1f) / (double)node.GetFloat("beta", 1f) : 1;
                SetBias(graph, copy, 2, Subtract(floatGraph, node.Inputs[2], shift, factor));
            }
            else
            {
                if (node.OpType == "Gemm" && node.GetFloat("beta", 1f) != 1f)
                    continue;
                double factor = node.OpType == "Gemm" ? node.GetFloat("alpha", 1f) : 1;
                var values = shift.Select(s => (float)(-s * factor)).ToArray();
                string name = graph.AddInitializer(TensorData.FromFloats(node.Name + "_bias_corrected", [values.Length], values));
                if (copy.Inputs.Count > 2)
                    graph.ReplaceInput(copy, 2, name);
                else
                    graph.AppendInput(copy, name);
                var activation = byEdge[QuantizationEdge.Input(node, 0)].QParams!;
                var spec = DerivedQuantizationSpec.Bias(node);
                var group = new QuantGroup(nextGroupId++, spec, QuantGroupKind.Derived) { QParams = DerivedQuantizationSpec.MultiplyScales([activation, weightQParams]) };
                group.Tensors.Add(name);
                var edge = QuantizationEdge.Input(copy, 2);
                group.Edges.Add(edge);
                edges.Add((edge, group));
            }

            corrected++;
        }

        return corrected;
    }

    /// <summary>
    /// The expected output error per output channel of the layer with the dequantized weight, <c>(Ŵ − W)·E[x]</c>,
    /// summed over the kernel window for convolutions.
    /// </summary>
    internal static double[] OutputShift(OnnxNode node, float[] weight, int[] shape, QParams weightQParams, double[] inputMeans)
    {
        var quantized = new sbyte[weight.Length];
        QuantizeKernels.Quantize<sbyte>(weight, shape, weightQParams, quantized);
        var dequantized = new float[weight.Length];
        QuantizeKernels.Dequantize<sbyte>(quantized, shape, weightQParams, dequantized);
        int window = 1;
        for (int d = 2; d < shape.Length; d++)
            window *= shape[d];
        double Delta(long i) => (double)dequantized[i] - weight[i];

        switch (node.OpType)
        {
            case "Conv":
            {
                int outputs = shape[0], perGroup = shape[1], groups = (int)node.GetInt("group", 1), outputsPerGroup = outputs / groups;
                var shift = new double[outputs];
                for (int o = 0; o < outputs; o++)
                {
                    int firstChannel = o / outputsPerGroup * perGroup;
                    for (int j = 0; j < perGroup; j++)
                        shift[o] += inputMeans[firstChannel + j] * WindowSum(Delta, ((long)o * perGroup + j) * window, window);
                }

                return shift;
            }

            case "ConvTranspose":
            {
                int inputs = shape[0], outputsPerGroup = shape[1], groups = (int)node.GetInt("group", 1), inputsPerGroup = inputs / groups;
                double taps = 1;
                foreach (long stride in node.GetInts("strides"))
                    taps /= stride;
                var shift = new double[outputsPerGroup * groups];
                for (int o = 0; o < shift.Length; o++)
                {
                    int g = o / outputsPerGroup, local = o % outputsPerGroup;
                    for (int j = 0; j < inputsPerGroup; j++)
                    {
                        int c = g * inputsPerGroup + j;
                        shift[o] += inputMeans[c] * WindowSum(Delta, ((long)c * outputsPerGroup + local) * window, window);
                    }

                    shift[o] *= taps;
                }

                return shift;
            }

            default:
            {
                // Gemm (B [K, N], or [N, K] with transB) and MatMul (B [K, N])
                bool transposed = node.OpType == "Gemm" && node.GetInt("transB", 0) != 0;
                int k = transposed ? shape[1] : shape[0], n = transposed ? shape[0] : shape[1];
                var shift = new double[n];
                for (int i = 0; i < k; i++)
                {
                    for (int o = 0; o < n; o++)
                        shift[o] += inputMeans[i] * Delta(transposed ? (long)o * k + i : (long)i * n + o);
                }

                return shift;
            }
        }
    }

    private static double WindowSum(Func<long, double> delta, long start, int window)
    {
        double sum = 0;
        for (int i = 0; i < window; i++)
            sum += delta(start + i);
        return sum;
    }

    /// <summary>The float Add that adds a constant bias of <paramref name="n"/> values to a MatMul's output, or null.</summary>
    private static NodeInput? MatMulBias(OnnxGraph graph, OnnxNode matMul, int n, IReadOnlyDictionary<QuantizationEdge, QuantGroup> byEdge)
    {
        var uses = graph.GetConsumers(matMul.Outputs[0]);
        if (uses.Count != 1 || uses[0].Node.OpType != "Add" || uses[0].Node.Inputs.Count != 2 || graph.IsGraphOutput(matMul.Outputs[0]))
            return null;
        var add = uses[0].Node;
        int other = 1 - uses[0].InputIndex;
        if (!graph.TryGetConstant(add.Inputs[other], out var bias) || bias.ElementType != TensorElementType.Float || byEdge.ContainsKey(QuantizationEdge.Input(add, other))
            || graph.GetConsumers(add.Inputs[other]).Count != 1)
            return null;
        var dims = bias.Shape;
        bool vector = dims.Length >= 1 && dims[^1] == n && dims.Take(dims.Length - 1).All(d => d == 1);
        return vector ? uses[0] : null;
    }

    /// <summary>The float bias <paramref name="tensor"/> minus <paramref name="factor"/> × the shift, same name and shape.</summary>
    private static TensorData Subtract(OnnxGraph floatGraph, string tensor, double[] shift, double factor)
    {
        floatGraph.TryGetConstant(tensor, out var bias);
        var values = bias!.ToFloatArray();
        for (int c = 0; c < values.Length; c++)
            values[c] = (float)(values[c] - shift[c] * factor);
        return TensorData.FromFloats(tensor, bias.Dims.ToArray(), values);
    }

    /// <summary>Gives <paramref name="node"/>'s input <paramref name="index"/> the corrected bias, under a new name when another node reads the old one.</summary>
    private static void SetBias(OnnxGraph graph, OnnxNode node, int index, TensorData corrected)
    {
        if (graph.GetConsumers(node.Inputs[index]).Count == 1 && graph.IsInitializer(node.Inputs[index]))
        {
            graph.ReplaceInitializer(corrected);
            return;
        }

        string name = graph.AddInitializer(TensorData.FromFloats(node.Inputs[index] + "_corrected", corrected.Dims.ToArray(), corrected.ToFloatArray()));
        graph.ReplaceInput(node, index, name);
    }
}
