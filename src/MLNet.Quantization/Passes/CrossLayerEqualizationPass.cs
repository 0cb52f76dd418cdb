using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Passes;

/// <summary>
/// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization", sec. 4.1), a float-graph pass run after
/// BatchNorm folding: for each pair Conv₁ → [positive-homogeneous activation] → Conv₂ where Conv₁'s output feeds only
/// Conv₂, output channel i of Conv₁ (weights and bias) is divided by sᵢ and input channel i of Conv₂ multiplied by sᵢ,
/// with <c>sᵢ = √(r₁ᵢ·r₂ᵢ) / r₂ᵢ</c> and rᵢ the largest |weight| of that channel, so that both ranges become
/// <c>√(r₁ᵢ·r₂ᵢ)</c>. Since f(x/s) = f(x)/s for s &gt; 0, the model computes the same function. Chains (a Conv that is
/// Conv₂ of one pair and Conv₁ of the next, as in depthwise-separable stacks) are swept until no scale moves by more
/// than <see cref="Tolerance"/>, at most <see cref="MaxIterations"/> times.
/// </summary>
/// <remarks>
/// Between the two convs the pass accepts up to four channel-wise, positive-homogeneous nodes: <c>Relu</c>,
/// <c>LeakyRelu</c>, a <c>Clip</c> that is a Relu (min 0 or none, no max), and max or average pooling. <c>Clip(x, 0, 6)</c> (Relu6) ends a chain: it is not positive-homogeneous
/// (<c>Clip(x/s, 0, 6) ≠ Clip(x, 0, 6)/s</c>), and the exact rewrite, a per-channel upper bound 6/sᵢ, is no longer
/// a Clip that ONNX Runtime folds into the QuantizeLinear after it. Grouped and depthwise convs are handled on either
/// side: Conv₂'s input channel i is read by the output channels of its group. Bias absorption (sec. 4.3) is not done:
/// it needs activation statistics before the weights are observed.
/// </remarks>
internal static class CrossLayerEqualizationPass
{
    /// <summary>The most sweeps over all pairs.</summary>
    public const int MaxIterations = 100;

    /// <summary>A sweep whose scales all lie within a factor 1 ± this of 1 ends the iteration.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>A pair to equalize: <paramref name="First"/> feeds <paramref name="Second"/>, through the channel-wise nodes <paramref name="Between"/>.</summary>
    internal sealed record Pair(OnnxNode First, IReadOnlyList<OnnxNode> Between, OnnxNode Second);

    /// <summary>The most channel-wise nodes accepted between the two convs (e.g. Relu then MaxPool).</summary>
    private const int MaxBetween = 4;

    /// <summary>What the pass did: how many pairs it equalized and in how many sweeps.</summary>
    internal sealed record Outcome(int Pairs, int Iterations);

    /// <summary>Equalizes every eligible pair of <paramref name="graph"/>, in place.</summary>
    public static Outcome Run(OnnxGraph graph)
    {
        var pairs = FindPairs(graph);
        if (pairs.Count == 0)
            return new Outcome(0, 0);
        var weights = new Dictionary<string, ConvWeight>(StringComparer.Ordinal);
        var biases = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            foreach (var conv in new[] { pair.First, pair.Second })
            {
                if (!weights.ContainsKey(conv.Inputs[1]))
                    weights[conv.Inputs[1]] = ConvWeight.Read(graph, conv);
            }

            if (HasBias(pair.First) && !biases.ContainsKey(pair.First.Inputs[2]))
            {
                graph.TryGetConstant(pair.First.Inputs[2], out var bias);
                biases[pair.First.Inputs[2]] = bias!.ToFloatArray().Select(v => (double)v).ToArray();
            }
        }

        int iterations = 0;
        double largestStep;
        do
        {
            largestStep = 0;
            foreach (var pair in pairs)
            {
                var first = weights[pair.First.Inputs[1]];
                var second = weights[pair.Second.Inputs[1]];
                var scales = Scales(first.OutputRanges(), second.InputRanges());
                first.DivideOutputChannels(scales);
                second.MultiplyInputChannels(scales);
                if (HasBias(pair.First))
                {
                    var bias = biases[pair.First.Inputs[2]];
                    for (int i = 0; i < bias.Length; i++)
                        bias[i] /= scales[i];
                }

                foreach (double s in scales)
                    largestStep = Math.Max(largestStep, Math.Abs(s - 1));
            }

            iterations++;
        }
        while (largestStep > Tolerance && iterations < MaxIterations);

        var writes = new List<(OnnxNode Node, int Index, TensorData Value)>();
        foreach (var conv in pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct())
            writes.Add((conv, 1, weights[conv.Inputs[1]].ToTensor()));
        foreach (var first in pairs.Select(p => p.First).Where(HasBias))
        {
            var bias = biases[first.Inputs[2]];
            writes.Add((first, 2, TensorData.FromFloats(first.Inputs[2], [bias.Length], bias.Select(v => (float)v).ToArray())));
        }

        foreach (var (node, index, value) in writes)
            Write(graph, node, index, value);

        graph.RemoveUnusedInitializers();
        return new Outcome(pairs.Count, iterations);
    }

    /// <summary>
    /// The scales that equalize one pair: <c>sᵢ = √(r₁ᵢ·r₂ᵢ) / r₂ᵢ = √(r₁ᵢ / r₂ᵢ)</c>; 1 for a channel with a zero or
    /// non-finite range on either side (nothing to balance).
    /// </summary>
    internal static double[] Scales(double[] firstRanges, double[] secondRanges)
    {
        var scales = new double[firstRanges.Length];
        for (int i = 0; i < scales.Length; i++)
        {
            double r1 = firstRanges[i], r2 = secondRanges[i];
            double s = r1 > 0 && r2 > 0 ? Math.Sqrt(r1 * r2) / r2 : 1;
            scales[i] = double.IsFinite(s) && s > 0 ? s : 1;
        }

        return scales;
    }

    /// <summary>The pairs of <paramref name="graph"/> the pass equalizes, in topological order.</summary>
    internal static IReadOnlyList<Pair> FindPairs(OnnxGraph graph)
    {
        var pairs = new List<Pair>();
        foreach (var first in graph.TopologicalOrder())
        {
            if (!IsEqualizableConv(graph, first) || graph.IsGraphOutput(first.Outputs[0]))
                continue;
            if (HasBias(first) && !IsPerChannelBias(graph, first))
                continue;
            var next = SoleConsumer(graph, first.Outputs[0]);
            var between = new List<OnnxNode>();
            while (next is { } use && between.Count < MaxBetween && IsChannelwiseHomogeneous(graph, use.Node))
            {
                between.Add(use.Node);
                next = graph.IsGraphOutput(use.Node.Outputs[0]) ? null : SoleConsumer(graph, use.Node.Outputs[0]);
            }

            if (next is not { InputIndex: 0 } reader || !IsEqualizableConv(graph, reader.Node))
                continue;
            var second = reader.Node;
            graph.TryGetConstant(first.Inputs[1], out var w1);
            graph.TryGetConstant(second.Inputs[1], out var w2);
            if (w1!.Dims[0] != w2!.Dims[1] * second.GetInt("group", 1))
                continue;
            pairs.Add(new Pair(first, between, second));
        }

        return pairs;
    }

    /// <summary>A default-domain Conv with a constant float weight of rank ≥ 3 that no other node reads.</summary>
    private static bool IsEqualizableConv(OnnxGraph graph, OnnxNode node) =>
        node is { OpType: "Conv", IsDefaultDomain: true } && node.Inputs.Count >= 2 && node.Outputs.Count == 1
        && graph.TryGetConstant(node.Inputs[1], out var weight) && weight.ElementType == TensorElementType.Float
        && weight.Dims.Count >= 3 && weight.Dims.All(d => d > 0) && graph.GetConsumers(node.Inputs[1]).Count == 1
        && node.GetInt("group", 1) is var group && group >= 1 && weight.Dims[0] % group == 0;

    private static bool HasBias(OnnxNode conv) => conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0;

    private static bool IsPerChannelBias(OnnxGraph graph, OnnxNode conv) =>
        graph.TryGetConstant(conv.Inputs[2], out var bias) && bias.ElementType == TensorElementType.Float
        && graph.TryGetConstant(conv.Inputs[1], out var weight) && bias.ElementCount == weight.Dims[0]
        && graph.GetConsumers(conv.Inputs[2]).Count == 1;

    private static NodeInput? SoleConsumer(OnnxGraph graph, string tensor) =>
        graph.GetConsumers(tensor) is [var only] ? only : null;

    /// <summary>
    /// A node that keeps the channels and scales with them, f(x/s) = f(x)/s per channel for every s &gt; 0: Relu,
    /// LeakyRelu, a Clip with min 0 (or none) and no max, and max or average pooling (zero padding included).
    /// </summary>
    private static bool IsChannelwiseHomogeneous(OnnxGraph graph, OnnxNode node)
    {
        if (!node.IsDefaultDomain || node.Outputs.Count != 1)
            return false;
        return node.OpType switch
        {
            "Relu" or "LeakyRelu" or "MaxPool" or "AveragePool" or "GlobalMaxPool" or "GlobalAveragePool" => true,
            "Clip" => ClipBound(graph, node, 1) is null or 0f or float.NegativeInfinity && ClipBound(graph, node, 2) is null or float.PositiveInfinity,
            _ => false,
        };
    }

    /// <summary>A Clip's min (input 1) or max (input 2): null when absent, NaN when not a constant scalar.</summary>
    private static float? ClipBound(OnnxGraph graph, OnnxNode clip, int index)
    {
        if (clip.Inputs.Count <= index || clip.Inputs[index].Length == 0)
            return null;
        return graph.TryGetConstant(clip.Inputs[index], out var bound) && bound.ElementType == TensorElementType.Float && bound.ElementCount == 1
            ? bound.ToFloatArray()[0]
            : float.NaN;
    }

    /// <summary>Gives <paramref name="node"/>'s input <paramref name="index"/> the new value under a new name; a Constant node left unread goes.</summary>
    private static void Write(OnnxGraph graph, OnnxNode node, int index, TensorData value)
    {
        string old = node.Inputs[index];
        string name = graph.AddInitializer(value.WithName(old + "_equalized"));
        graph.ReplaceInput(node, index, name);
        if (graph.GetProducer(old) is { OpType: "Constant" } constant && !graph.IsUsed(old) && !graph.IsGraphOutput(old))
            graph.RemoveNode(constant);
    }

    /// <summary>A Conv weight [O, C/group, k...] held in double while the scales are applied.</summary>
    private sealed class ConvWeight
    {
        private readonly string _name;
        private readonly long[] _dims;
        private readonly double[] _values;
        private readonly int _outputs, _perGroupInputs, _groups, _window;

        private ConvWeight(string name, long[] dims, double[] values, int groups)
        {
            _name = name;
            _dims = dims;
            _values = values;
            _groups = groups;
            _outputs = checked((int)dims[0]);
            _perGroupInputs = checked((int)dims[1]);
            _window = values.Length / (_outputs * _perGroupInputs);
        }

        public static ConvWeight Read(OnnxGraph graph, OnnxNode conv)
        {
            graph.TryGetConstant(conv.Inputs[1], out var weight);
            return new ConvWeight(weight!.Name, weight.Dims.ToArray(), weight.ToFloatArray().Select(v => (double)v).ToArray(), (int)conv.GetInt("group", 1));
        }

        private int PerOutput => _perGroupInputs * _window;

        private int InputChannels => _perGroupInputs * _groups;

        /// <summary>The largest |w| of each output channel.</summary>
        public double[] OutputRanges()
        {
            var ranges = new double[_outputs];
            for (int o = 0; o < _outputs; o++)
            {
                for (int k = 0; k < PerOutput; k++)
                    ranges[o] = Math.Max(ranges[o], Math.Abs(_values[o * PerOutput + k]));
            }

            return ranges;
        }

        /// <summary>The largest |w| reading each input channel: the output channels of its group, at its place in the group.</summary>
        public double[] InputRanges()
        {
            var ranges = new double[InputChannels];
            ForEachInputChannelElement((c, i) => ranges[c] = Math.Max(ranges[c], Math.Abs(_values[i])));
            return ranges;
        }

        public void DivideOutputChannels(double[] scales)
        {
            for (int o = 0; o < _outputs; o++)
            {
                for (int k = 0; k < PerOutput; k++)
                    _values[o * PerOutput + k] /= scales[o];
            }
        }

        public void MultiplyInputChannels(double[] scales) => ForEachInputChannelElement((c, i) => _values[i] *= scales[c]);

        private void ForEachInputChannelElement(Action<int, int> visit)
        {
            int outputsPerGroup = _outputs / _groups;
            for (int o = 0; o < _outputs; o++)
            {
                int firstChannel = o / outputsPerGroup * _perGroupInputs;
                for (int j = 0; j < _perGroupInputs; j++)
                {
                    int start = (o * _perGroupInputs + j) * _window;
                    for (int t = 0; t < _window; t++)
                        visit(firstChannel + j, start + t);
                }
            }
        }

        public TensorData ToTensor() => TensorData.FromFloats(_name, _dims, _values.Select(v => (float)v).ToArray());
    }
}
