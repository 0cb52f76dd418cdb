using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// The x86 CPU quantizer: PyTorch's <c>X86InductorQuantizer</c> recipe, applied to ONNX graphs whose QDQ form
/// ONNX Runtime's CPU execution provider fuses into int8 kernels.
/// </summary>
/// <remarks>
/// <para>Static quantization (calibrated) annotates, on a graph after constant and BatchNormalization folding:</para>
/// <list type="bullet">
/// <item>Conv, Conv+Relu, Conv+Add, Conv+Add+Relu (Relu may be a Clip with constant bounds, or Relu then Clip as
/// exported from <c>relu6</c>): activation, weight (per output channel) and bias inputs, and the extra Add input.</item>
/// <item>Linear: Gemm with a constant weight, MatMul with a constant 2-D weight optionally followed by an Add of a
/// constant bias; each alone, + Relu, + Add, + Add + Relu. The extra Add input of a linear is not quantized, as in
/// X86InductorQuantizer.</item>
/// <item>MatMul of two activations (attention): both inputs, only when enabled by <see cref="SetOperatorType"/>
/// ("MatMul") or <see cref="SetNodeName"/>; X86InductorQuantizer keeps <c>aten.matmul</c> out of its default recipe.</item>
/// <item>MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Transpose, Concat: int8 in, int8 out, sharing
/// the input's parameters, annotated only when every activation input comes from a quantized pattern (Flatten,
/// Reshape and Transpose also need a consumer that runs in int8).</item>
/// </list>
/// <para>
/// A pattern's output has no spec of its own: it is quantized where a consumer annotates its input. Dynamic
/// quantization annotates only Gemm and MatMul with a constant weight (never Conv: ONNX Runtime's CPU provider has no
/// ConvInteger with int8 weights). Everything else stays in float and is listed in
/// <see cref="QuantizationAnnotations.SkippedNodes"/> with the reason.
/// </para>
/// <para>
/// One performance rule departs from X86InductorQuantizer: a narrow-input Conv, and a strided depthwise Conv reading
/// float (see <see cref="KeepNarrowConvsInFloat"/>), stay in float, because ONNX Runtime runs them faster that way.
/// </para>
/// <para>
/// Configs: the node-name config of a pattern's main node (Conv, Gemm, MatMul, pool, ...) wins over its operator-type
/// config, which wins over the global config; <c>null</c> keeps the pattern in float. A node-name entry on a node
/// that would be fused into a pattern (a Relu, an Add) keeps it out of the fusion. All non-null configs must agree on
/// <see cref="QuantizationConfig.IsQat"/> and <see cref="QuantizationConfig.IsDynamic"/>.
/// </para>
/// </remarks>
public sealed class X86Quantizer : Quantizer
{
    /// <summary>The operator types <see cref="SetOperatorType"/> accepts: those that anchor a pattern.</summary>
    public static IReadOnlySet<string> SupportedOperatorTypes => X86Ops.Quantizable;

    private static readonly Func<ObserverOptions, Observer> HistogramFactory = static o => new HistogramObserver(o);
    private static readonly Func<ObserverOptions, Observer> PlaceholderFactory = static o => new PlaceholderObserver(o);
    private static readonly Func<ObserverOptions, Observer> MovingAverageFactory = static o => new MovingAverageMinMaxObserver(o);
    private static readonly Func<ObserverOptions, Observer> MovingAverageConstant1Factory = static o => new MovingAverageMinMaxObserver(o, averagingConstant: 1f);
    private static readonly Func<ObserverOptions, Observer> PerChannelMinMaxFactory = static o => new PerChannelMinMaxObserver(o);
    private static readonly Func<ObserverOptions, Observer> MovingAveragePerChannelFactory = static o => new MovingAveragePerChannelMinMaxObserver(o);

    private readonly Dictionary<string, QuantizationConfig?> _nodeNameConfigs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QuantizationConfig?> _operatorTypeConfigs = new(StringComparer.Ordinal);
    private QuantizationConfig? _globalConfig;
    private bool _hasGlobalConfig;

    /// <summary>
    /// X86InductorQuantizer's default config (<c>get_default_x86_inductor_quantization_config</c>), with an int32 bias.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Activations: uint8 [0, 255] ([0, 127] with <paramref name="reduceRange"/>), per-tensor affine, eps 2^-12;
    /// observed by a HistogramObserver (static), a PlaceholderObserver with <see cref="QuantizationSpec.IsDynamic"/>
    /// (dynamic), a MovingAverageMinMaxObserver (QAT, the observer of PyTorch's FusedMovingAvgObsFakeQuantize), or one with
    /// averaging constant 1 (dynamic QAT).</item>
    /// <item>Weights: int8 [-128, 127], per-channel symmetric, axis 0 (replaced per operator when annotating), eps
    /// 2^-40 (<see cref="QuantizationSpec.WeightEps"/>; PT2E's 2^-12 collapses tiny BN-folded weights); PerChannelMinMaxObserver, or MovingAveragePerChannelMinMaxObserver for QAT.</item>
    /// <item>Bias: <see cref="DerivedQuantizationSpec.BiasTemplate"/> (int32, scale = s_in × s_w, zero point 0) for
    /// static configs; PyTorch leaves bias in float, but ONNX Runtime fuses a QDQ Conv or Gemm only with an int32 bias.
    /// <c>null</c> (float) for dynamic configs.</item>
    /// </list>
    /// </remarks>
    /// <param name="isQat">Quantization-aware training.</param>
    /// <param name="isDynamic">Dynamic quantization of activations.</param>
    /// <param name="reduceRange">7-bit activations ([0, 127]) for CPUs without VNNI.</param>
    /// <param name="activationObserver">Replaces the activation observer (e.g. a MinMax, Percentile or Entropy observer);
    /// <c>null</c> for the default above.</param>
    public static QuantizationConfig GetDefaultConfig(
        bool isQat = false,
        bool isDynamic = false,
        bool reduceRange = false,
        Func<ObserverOptions, Observer>? activationObserver = null)
    {
        var activationFactory = activationObserver ?? (isQat, isDynamic) switch
        {
            (true, true) => MovingAverageConstant1Factory,
            (true, false) => MovingAverageFactory,
            (false, true) => PlaceholderFactory,
            (false, false) => HistogramFactory,
        };
        var activation = new QuantizationSpec(
            QuantDataType.UInt8,
            QScheme.PerTensorAffine,
            quantMin: 0,
            quantMax: reduceRange ? 127 : 255,
            isDynamic: isDynamic,
            observerFactory: activationFactory,
            eps: QuantizationSpec.DefaultEps);
        var weight = new QuantizationSpec(
            QuantDataType.Int8,
            QScheme.PerChannelSymmetric,
            quantMin: -128,
            quantMax: 127,
            channelAxis: 0,
            observerFactory: isQat ? MovingAveragePerChannelFactory : PerChannelMinMaxFactory,
            eps: QuantizationSpec.WeightEps);
        QuantizationSpecBase? bias = isDynamic ? null : DerivedQuantizationSpec.BiasTemplate;
        return new QuantizationConfig(activation, activation, weight, bias, isQat);
    }

    /// <summary>
    /// Keeps in float a Conv with <c>group = 1</c> whose input channel count is below 16 and not a multiple of 4, such as
    /// the 1- or 3-channel stem of an image model, and a depthwise Conv with a stride above 1 that reads a float tensor
    /// (such as that stem's output), unless <see cref="SetNodeName"/> names the conv. Default <c>true</c>.
    /// </summary>
    /// <remarks>
    /// <para>A performance rule for ONNX Runtime's CPU provider, not part of X86InductorQuantizer's recipe: ORT's x86 int8
    /// convolution is fast only when the input channels come in multiples of 4, so a narrower conv runs slower in int8
    /// than in fp32, while a wide one beats fp32 even on the slow int8 path. The kernel times per channel count are in
    /// the repository's <c>docs/benchmarks.md</c> ("Narrow convolutions in ONNX Runtime").</para>
    /// <para>A strided depthwise conv is no faster in ORT's int8 kernel than in fp32, and when it reads float its output,
    /// a quarter of its input at stride 2, is the cheaper place for the float-to-int8 boundary (a QuantizeLinear and a
    /// uint8 NHWC transpose). Inside an int8 chain it is quantized as usual.</para>
    /// <para>The conv's input and output stay float; its consumers still quantize its output.</para>
    /// </remarks>
    public bool KeepNarrowConvsInFloat { get; set; } = true;

    /// <summary>
    /// Runs Add and Mul between int8 tensors in int8 (ONNX Runtime's QLinearAdd and QLinearMul), as in MobileNetV3-style
    /// blocks: hard-swish (<c>x · Clip(x + 3, 0, 6) / 6</c>), squeeze-and-excitation gates (<c>x · HardSigmoid(...)</c>)
    /// and constant scales and shifts between convs. Default <c>false</c>. Static post-training configs only.
    /// </summary>
    /// <remarks>
    /// <para>An Add or Mul is quantized when one input comes from a quantized pattern and the other comes from one too,
    /// is a float activation (HardSigmoid, Sigmoid, ...) of one, or is a float constant (uint8 by its own range). A Relu
    /// or a Clip with constant bounds after it joins the pattern; ONNX Runtime folds it into the output's range. Before
    /// annotating, every Div by a float constant becomes a Mul by its reciprocal (ORT has no int8 Div), which changes the
    /// float graph within float rounding.</para>
    /// <para>Not part of X86InductorQuantizer's recipe. The repository's <c>docs/benchmarks.md</c> ("Int8 elementwise
    /// ops in MobileNetV3 blocks") gives the speed and accuracy it measured on PaddleOCR's models.</para>
    /// </remarks>
    public bool QuantizeElementwise { get; set; }

    /// <summary>
    /// With <see cref="QuantizeElementwise"/> and a static config, rewrites each Div by a float constant as a Mul by its
    /// reciprocal, so that it can run in int8; otherwise leaves the graph as it is.
    /// </summary>
    public override void TransformForAnnotation(OnnxGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (QuantizeElementwise && !IsDynamicMode && !IsQatMode)
            Backends.OnnxRuntime.OrtElementwiseRules.DivisionsByConstantsToMultiplications(graph);
    }

    /// <summary>
    /// Quantizes MatMul of two activations (attention's Q·Kᵀ and A·V) with the global config, and the Softmax between
    /// them (output uint8, scale 1/256, zero point 0), so that ONNX Runtime runs them as QLinearMatMul and
    /// <c>com.microsoft:QLinearSoftmax</c>. Static mode only. Default <c>false</c>.
    /// </summary>
    /// <remarks>X86InductorQuantizer keeps <c>aten.matmul</c> out of its default recipe; <see cref="SetOperatorType"/>
    /// ("MatMul") or <see cref="SetNodeName"/> enable it per operator type or node whatever this is.</remarks>
    public bool QuantizeActivationMatMuls { get; set; }

    /// <summary>The config of every node without a node-name or operator-type config; <c>null</c> keeps them in float.</summary>
    /// <exception cref="ArgumentException">The config mixes static and dynamic, or QAT and post-training, with configs already set.</exception>
    public X86Quantizer SetGlobal(QuantizationConfig? config)
    {
        CheckMode(config, "the global config");
        _globalConfig = config;
        _hasGlobalConfig = true;
        return this;
    }

    /// <summary>The config of patterns whose main node has the ONNX operator type <paramref name="opType"/>; <c>null</c> keeps them in float.</summary>
    /// <exception cref="ArgumentException"><paramref name="opType"/> anchors no pattern (see <see cref="SupportedOperatorTypes"/>), or the config mixes modes.</exception>
    public X86Quantizer SetOperatorType(string opType, QuantizationConfig? config)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        if (!SupportedOperatorTypes.Contains(opType))
            throw new ArgumentException(
                $"X86Quantizer has no pattern anchored on operator type '{opType}'; supported: {string.Join(", ", SupportedOperatorTypes.Order(StringComparer.Ordinal))}.",
                nameof(opType));
        CheckMode(config, $"operator type '{opType}'");
        _operatorTypeConfigs[opType] = config;
        return this;
    }

    /// <summary>The config of the pattern whose main node is named <paramref name="nodeName"/>; <c>null</c> keeps it in float.</summary>
    /// <exception cref="ArgumentException">The config mixes modes with configs already set.</exception>
    public X86Quantizer SetNodeName(string nodeName, QuantizationConfig? config)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        CheckMode(config, $"node '{nodeName}'");
        _nodeNameConfigs[nodeName] = config;
        return this;
    }

    /// <summary>ONNX Runtime's rules (<see cref="BackendRules.OnnxRuntime"/>): the QDQ form its CPU provider fuses.</summary>
    public override BackendRules Backend => BackendRules.OnnxRuntime;

    /// <inheritdoc />
    public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(annotations);
        new X86Annotator(graph, annotations, this).Run();
    }

    /// <summary>
    /// Checks the annotations: the base structural checks, then ONNX Runtime's limits for dynamic quantization
    /// (uint8 [0, 255] per-tensor affine activations, as DynamicQuantizeLinear computes, and no dynamic Conv input).
    /// </summary>
    public override void Validate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        base.Validate(graph, annotations);
        foreach (var (node, annotation) in annotations.All)
        {
            foreach (var (index, spec) in annotation.InputQSpecMap)
            {
                if (spec is not QuantizationSpec { IsDynamic: true } dynamic)
                    continue;
                if (dynamic.DataType != QuantDataType.UInt8 || dynamic.QScheme != QScheme.PerTensorAffine || dynamic.ReduceRange
                    || (dynamic.QuantMin ?? 0) != 0 || (dynamic.QuantMax ?? 255) != 255)
                    throw new QuantizationAnnotationException(
                        $"Dynamic spec on input {index} of {node.OpType} '{node.Name}' must be uint8 [0, 255] per-tensor affine (ONNX DynamicQuantizeLinear); got {dynamic.DataType} {dynamic.QScheme} [{dynamic.QuantMin}, {dynamic.QuantMax}]{(dynamic.ReduceRange ? " reduced" : "")}.");
                if (node.OpType == "Conv")
                    throw new QuantizationAnnotationException(
                        $"Conv '{node.Name}' has a dynamic input spec; ONNX Runtime's CPU provider cannot run ConvInteger with int8 weights.");
            }
        }
    }

    /// <summary>Finds the config of a pattern anchored on <paramref name="anchor"/>: node name, then operator type, then global.</summary>
    internal ConfigChoice Resolve(OnnxNode anchor, bool allowGlobal = true)
    {
        if (anchor.Name.Length > 0 && _nodeNameConfigs.TryGetValue(anchor.Name, out var byName))
            return new ConfigChoice(true, byName, $"node name '{anchor.Name}'");
        if (_operatorTypeConfigs.TryGetValue(anchor.OpType, out var byType))
            return new ConfigChoice(true, byType, $"operator type '{anchor.OpType}'");
        if (allowGlobal && _hasGlobalConfig)
            return new ConfigChoice(true, _globalConfig, "the global config");
        return new ConfigChoice(false, null, allowGlobal ? "no config is set (SetGlobal)" : "no node-name or operator-type config");
    }

    /// <summary>True when a node-name config is set for <paramref name="node"/>, which keeps it out of another node's pattern.</summary>
    internal bool HasNodeNameConfig(OnnxNode node) => node.Name.Length > 0 && _nodeNameConfigs.ContainsKey(node.Name);

    /// <summary>True when the non-null configs are dynamic.</summary>
    internal bool IsDynamicMode => AllConfigs().Any(c => c is not null && c.InputActivation is not null && c.IsDynamic);

    /// <summary>True when the non-null configs are for QAT.</summary>
    internal bool IsQatMode => AllConfigs().Any(c => c?.IsQat == true);

    private IEnumerable<QuantizationConfig?> AllConfigs() =>
        _nodeNameConfigs.Values.Concat(_operatorTypeConfigs.Values).Append(_globalConfig);

    private void CheckMode(QuantizationConfig? config, string what)
    {
        if (config is null)
            return;
        foreach (var other in AllConfigs())
        {
            if (other is null)
                continue;
            if (other.IsQat != config.IsQat)
                throw new ArgumentException($"The config for {what} has IsQat={config.IsQat} but another config has IsQat={other.IsQat}; X86Quantizer does not mix QAT and post-training configs.", nameof(config));
            if (other.InputActivation is not null && config.InputActivation is not null && other.IsDynamic != config.IsDynamic)
                throw new ArgumentException($"The config for {what} has IsDynamic={config.IsDynamic} but another config has IsDynamic={other.IsDynamic}; X86Quantizer does not mix static and dynamic configs.", nameof(config));
        }
    }
}

/// <summary>The config chosen for a pattern and where it came from.</summary>
/// <param name="Found">False when no config applies (no global config and no override).</param>
/// <param name="Config">The config; <c>null</c> keeps the pattern in float.</param>
/// <param name="Source">Where it came from, for skip reasons.</param>
internal readonly record struct ConfigChoice(bool Found, QuantizationConfig? Config, string Source);
