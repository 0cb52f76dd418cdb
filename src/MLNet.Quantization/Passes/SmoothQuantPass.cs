using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Passes;

/// <summary>
/// SmoothQuant (Xiao et al. 2022), a float-graph pass run after BatchNorm folding and cross-layer equalization: for
/// each activation X read as input A by MatMul/Gemm nodes with a constant float weight W [K, N], per input channel j
/// <c>sⱼ = max|Xⱼ|^α / max|Wⱼ|^(1−α)</c> (1 where either maximum is 0), X' = X / s and W' = diag(s)·W, so that
/// X'·W' = X·W and part of the activation's outliers move into the weight. The nodes reading one X share one s,
/// taken over the largest |W| of them all.
/// </summary>
/// <remarks>
/// X / s goes into X's producer when that is exact: the affine tail of a decomposed LayerNorm (a Mul by a constant
/// per-channel γ, then an Add of a constant per-channel β) or ONNX <c>LayerNormalization</c>'s scale and bias, when
/// nothing but the smoothed nodes (and Shape nodes) reads X. Otherwise a <c>Mul</c> by the constant 1/s is inserted before them. The
/// tensors whose values change get new names (suffix <c>_smoothed</c>), so the numeric suite, which rebuilds the
/// float graph without smoothing, never compares them with the unsmoothed values (it lists them as unmatched).
/// </remarks>
internal static class SmoothQuantPass
{
    /// <summary>The suffix of every tensor the pass gives a new value (weights, γ, β, activations).</summary>
    internal const string Suffix = "_smoothed";

    /// <summary>One activation to smooth and the MatMul/Gemm nodes (input 0) reading it.</summary>
    internal sealed record Target(string Activation, int Channels, IReadOnlyList<OnnxNode> Consumers);

    /// <summary>What the pass did: how many MatMul/Gemm nodes it smoothed, and through how many activations.</summary>
    internal sealed record Outcome(int Layers, int Activations);

    /// <summary>The activations the pass would smooth in <paramref name="graph"/>, in topological order.</summary>
    internal static IReadOnlyList<Target> FindTargets(OnnxGraph graph)
    {
        var byActivation = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (!IsSmoothable(graph, node))
                continue;
            string x = node.Inputs[0];
            if (!byActivation.TryGetValue(x, out var list))
            {
                byActivation[x] = list = [];
                order.Add(x);
            }

            list.Add(node);
        }

        var targets = new List<Target>();
        foreach (string x in order)
        {
            var consumers = byActivation[x];
            var channels = consumers.Select(c => WeightMatrix.Read(graph, c).Rows).Distinct().ToList();
            if (channels.Count == 1)
                targets.Add(new Target(x, channels[0], consumers));
        }

        return targets;
    }

    /// <summary>
    /// The smoothing scales of one activation: <c>sⱼ = a_j^α / w_j^(1−α)</c>, 1 where either maximum is 0 or the
    /// result is not a finite positive number.
    /// </summary>
    internal static double[] Scales(IReadOnlyList<float> activationMaxima, IReadOnlyList<double> weightMaxima, double alpha)
    {
        var scales = new double[activationMaxima.Count];
        for (int j = 0; j < scales.Length; j++)
        {
            double a = Math.Abs((double)activationMaxima[j]), w = weightMaxima[j];
            double s = a > 0 && w > 0 ? Math.Pow(a, alpha) / Math.Pow(w, 1 - alpha) : 1;
            scales[j] = double.IsFinite(s) && s > 0 ? s : 1;
        }

        return scales;
    }

    /// <summary>
    /// Smooths every target of <paramref name="graph"/> that <paramref name="maxima"/> (per-channel max|X| of the
    /// unsmoothed graph, by tensor name) covers, in place.
    /// </summary>
    public static Outcome Run(OnnxGraph graph, IReadOnlyDictionary<string, float[]> maxima, double alpha)
    {
        int layers = 0, activations = 0;
        foreach (var target in FindTargets(graph))
        {
            if (!maxima.TryGetValue(target.Activation, out var activationMaxima) || activationMaxima.Length != target.Channels)
                continue;
            var weights = target.Consumers.Select(c => WeightMatrix.Read(graph, c)).ToList();
            var weightMaxima = new double[target.Channels];
            foreach (var weight in weights)
            {
                var rows = weight.RowMaxima();
                for (int j = 0; j < rows.Length; j++)
                    weightMaxima[j] = Math.Max(weightMaxima[j], rows[j]);
            }

            var scales = Scales(activationMaxima, weightMaxima, alpha);
            for (int i = 0; i < weights.Count; i++)
            {
                weights[i].MultiplyRows(scales);
                var consumer = target.Consumers[i];
                string name = graph.AddInitializer(weights[i].ToTensor(consumer.Inputs[1] + Suffix));
                graph.ReplaceInput(consumer, 1, name);
            }

            if (!FoldIntoProducer(graph, target, scales))
                InsertDivision(graph, target, scales);
            layers += target.Consumers.Count;
            activations++;
        }

        graph.RemoveUnusedInitializers();
        return new Outcome(layers, activations);
    }

    /// <summary>A default-domain MatMul (rank-2 constant B) or Gemm (transA 0, constant B) whose weight nothing else reads.</summary>
    private static bool IsSmoothable(OnnxGraph graph, OnnxNode node)
    {
        if (!node.IsDefaultDomain || node.Outputs.Count != 1 || node.Inputs.Count < 2 || graph.IsInitializer(node.Inputs[0]))
            return false;
        if (node.OpType is not ("MatMul" or "Gemm") || (node.OpType == "Gemm" && node.GetInt("transA", 0) != 0))
            return false;
        if (graph.TryGetConstant(node.Inputs[0], out _))
            return false;
        return graph.TryGetConstant(node.Inputs[1], out var weight) && weight.ElementType == TensorElementType.Float && weight.Dims.Count == 2
            && weight.Dims.All(d => d > 0) && graph.GetConsumers(node.Inputs[1]).Count == 1;
    }

    /// <summary>Divides the γ and β that make X by s, when nothing but the smoothed nodes and Shape nodes read X; false when X's producer is not such an affine.</summary>
    private static bool FoldIntoProducer(OnnxGraph graph, Target target, double[] scales)
    {
        string x = target.Activation;
        // a Shape node reads only X's shape, which smoothing keeps
        var others = graph.GetConsumers(x).Where(c => !target.Consumers.Contains(c.Node)).ToList();
        if (graph.IsGraphOutput(x) || others.Any(c => c.Node is not { OpType: "Shape", IsDefaultDomain: true }) || graph.GetProducer(x) is not { } producer)
            return false;
        if (producer is { OpType: "LayerNormalization", IsDefaultDomain: true } layerNorm && layerNorm.Outputs[0] == x)
        {
            long axis = layerNorm.GetInt("axis", -1);
            var rank = graph.GetValueInfo(x)?.Shape?.Count;
            if (!(axis == -1 || (rank is { } r && axis == r - 1)) || !IsChannelConstant(graph, layerNorm, 1, scales.Length)
                || (layerNorm.Inputs.Count > 2 && layerNorm.Inputs[2].Length > 0 && !IsChannelConstant(graph, layerNorm, 2, scales.Length)))
                return false;
            Divide(graph, layerNorm, 1, scales);
            if (layerNorm.Inputs.Count > 2 && layerNorm.Inputs[2].Length > 0)
                Divide(graph, layerNorm, 2, scales);
            Rename(graph, layerNorm, 0);
            return true;
        }

        if (producer is not { OpType: "Add", IsDefaultDomain: true } add || ChannelConstantIndex(graph, add, scales.Length) is not { } betaIndex)
            return false;
        string scaled = add.Inputs[1 - betaIndex];
        if (graph.GetProducer(scaled) is not { OpType: "Mul", IsDefaultDomain: true } mul || graph.GetConsumers(scaled).Count != 1 || graph.IsGraphOutput(scaled)
            || ChannelConstantIndex(graph, mul, scales.Length) is not { } gammaIndex)
            return false;
        Divide(graph, mul, gammaIndex, scales);
        Divide(graph, add, betaIndex, scales);
        Rename(graph, mul, 0);
        Rename(graph, add, 0);
        return true;
    }

    /// <summary>Reads X / s through a new Mul by 1/s before the smoothed nodes.</summary>
    private static void InsertDivision(OnnxGraph graph, Target target, double[] scales)
    {
        string x = target.Activation;
        string inverse = graph.AddInitializer(TensorData.FromFloats(graph.UniqueName(x + "_smooth_inverse"), [scales.Length], scales.Select(s => (float)(1 / s)).ToArray()));
        string smoothed = graph.UniqueName(x + Suffix);
        graph.AddNode("Mul", [x, inverse], [smoothed], x + "_smooth");
        if (graph.GetValueInfo(x) is { } info)
            graph.SetValueInfo(new ValueInfo(smoothed, info.ElementType, info.Shape));
        foreach (var consumer in target.Consumers)
            graph.ReplaceInput(consumer, 0, smoothed);
    }

    /// <summary>The index (0 or 1) of a binary node's constant float [channels] input that nothing else reads, or null.</summary>
    private static int? ChannelConstantIndex(OnnxGraph graph, OnnxNode node, int channels)
    {
        if (node.Inputs.Count != 2 || node.Outputs.Count != 1)
            return null;
        for (int i = 0; i < 2; i++)
        {
            if (IsChannelConstant(graph, node, i, channels) && !graph.TryGetConstant(node.Inputs[1 - i], out _))
                return i;
        }

        return null;
    }

    private static bool IsChannelConstant(OnnxGraph graph, OnnxNode node, int index, int channels) =>
        graph.TryGetConstant(node.Inputs[index], out var value) && value.ElementType == TensorElementType.Float && value.Dims.Count == 1
        && value.Dims[0] == channels && graph.GetConsumers(node.Inputs[index]).Count == 1;

    /// <summary>Gives <paramref name="node"/>'s input <paramref name="index"/> (a per-channel constant) the value divided by s, under a new name.</summary>
    private static void Divide(OnnxGraph graph, OnnxNode node, int index, double[] scales)
    {
        graph.TryGetConstant(node.Inputs[index], out var value);
        var values = value!.ToFloatArray();
        for (int j = 0; j < values.Length; j++)
            values[j] = (float)(values[j] / scales[j]);
        string old = node.Inputs[index];
        graph.ReplaceInput(node, index, graph.AddInitializer(TensorData.FromFloats(graph.UniqueName(old + Suffix), value.Dims.ToArray(), values)));
        if (graph.GetProducer(old) is { OpType: "Constant" } constant && !graph.IsUsed(old))
            graph.RemoveNode(constant);
    }

    /// <summary>Renames output <paramref name="output"/> of <paramref name="node"/> (its value changed), rewiring its readers and keeping its value info.</summary>
    private static void Rename(OnnxGraph graph, OnnxNode node, int output)
    {
        string old = node.Outputs[output];
        string renamed = graph.UniqueName(old + Suffix);
        var info = graph.GetValueInfo(old);
        var proto = node.Proto.Clone();
        proto.Output[output] = renamed;
        graph.ReplaceAllUses(old, renamed);
        graph.RemoveNode(node);
        graph.AddNode(proto);
        graph.RemoveValueInfo(old);
        if (info is not null)
            graph.SetValueInfo(new ValueInfo(renamed, info.ElementType, info.Shape));
    }

    /// <summary>A MatMul/Gemm weight as a [K, N] matrix in double (a Gemm with transB reads its [N, K] weight transposed).</summary>
    private sealed class WeightMatrix
    {
        private readonly long[] _dims;
        private readonly double[] _values;
        private readonly bool _transposed;

        private WeightMatrix(long[] dims, double[] values, bool transposed)
        {
            _dims = dims;
            _values = values;
            _transposed = transposed;
        }

        /// <summary>K, the input channels.</summary>
        public int Rows => (int)(_transposed ? _dims[1] : _dims[0]);

        private int Columns => (int)(_transposed ? _dims[0] : _dims[1]);

        public static WeightMatrix Read(OnnxGraph graph, OnnxNode node)
        {
            graph.TryGetConstant(node.Inputs[1], out var weight);
            bool transposed = node.OpType == "Gemm" && node.GetInt("transB", 0) != 0;
            return new WeightMatrix(weight!.Dims.ToArray(), weight.ToFloatArray().Select(v => (double)v).ToArray(), transposed);
        }

        private int Index(int row, int column) => _transposed ? column * Rows + row : row * Columns + column;

        /// <summary>The largest |w| of each input channel.</summary>
        public double[] RowMaxima()
        {
            var maxima = new double[Rows];
            for (int j = 0; j < Rows; j++)
            {
                for (int n = 0; n < Columns; n++)
                    maxima[j] = Math.Max(maxima[j], Math.Abs(_values[Index(j, n)]));
            }

            return maxima;
        }

        public void MultiplyRows(double[] scales)
        {
            for (int j = 0; j < Rows; j++)
            {
                for (int n = 0; n < Columns; n++)
                    _values[Index(j, n)] *= scales[j];
            }
        }

        public TensorData ToTensor(string name) => TensorData.FromFloats(name, _dims, _values.Select(v => (float)v).ToArray());
    }
}
