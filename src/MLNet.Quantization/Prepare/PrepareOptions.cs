namespace MLNet.Quantization;

/// <summary>Options of <see cref="QuantizationFlow.Prepare(Onnx.OnnxModel, Quantizers.Quantizer, PrepareOptions?, CancellationToken)"/>.</summary>
public sealed class PrepareOptions
{
    /// <summary>Fold constant subgraphs with ONNX Runtime before annotating (default true).</summary>
    public bool FoldConstants { get; init; } = true;

    /// <summary>Fold BatchNormalization into the preceding Conv (default true).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Add output specs so that ONNX Runtime can fuse every quantized Conv/Gemm/MatMul (default true), when the
    /// quantizer's <see cref="Quantizers.Quantizer.Backend"/> is <see cref="Quantizers.BackendRules.OnnxRuntime"/> (as
    /// <see cref="Quantizers.X86Quantizer"/>'s is); see "QDQ placement" in the repository's
    /// <c>docs/numerics.md</c>.
    /// </summary>
    public bool CompleteForOrtFusion { get; init; } = true;

    /// <summary>
    /// Sizes for graph inputs, by input name, as ML.NET's <c>ApplyOnnxModel(shapeDictionary: ...)</c> gives them (e.g.
    /// <c>["x"] = [1, 3, 640, 640]</c> for a detector with symbolic N×3×H×W): each named input is declared with that
    /// shape for shape inference and calibration, and the converted model declares it too. A fixed size of the model
    /// cannot be changed. Null (the default) leaves the inputs as declared. A batch dimension fixed here is made
    /// symbolic again like any fixed batch (see <see cref="RelaxFixedBatch"/>).
    /// </summary>
    public IReadOnlyDictionary<string, int[]>? InputShapes { get; init; }

    /// <summary>
    /// Make a fixed batch dimension (dimension 0 of every input, e.g. a CNTK export's 1) symbolic when the graph allows it
    /// (default true). The graph is checked in ONNX Runtime against the original at two batch sizes first; when it does
    /// not allow it, it stays fixed and calibration runs that many samples per run.
    /// <see cref="QuantizationReport.FixedBatchSize"/> and <see cref="QuantizationReport.BatchDimension"/> say which
    /// happened. The converted model keeps the symbolic batch.
    /// </summary>
    public bool RelaxFixedBatch { get; init; } = true;

    /// <summary>
    /// ONNX Runtime intra-op threads for the calibration runs; 0 (the default) lets ORT choose. The quantized model does
    /// not depend on it: the same data gives the same bytes with any thread count (tested).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int CalibrationThreads
    {
        get => _calibrationThreads;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _calibrationThreads = value;
        }
    }

    /// <summary>
    /// Receives a report as each step of prepare, calibration and convert starts (for example <c>folding constants</c>),
    /// so that long work on a large model is never silent; null (the default) for none.
    /// </summary>
    public IProgress<QuantizationProgress>? Progress { get; init; }

    /// <summary>
    /// After convert, float and int8 run side by side on this many of the first calibration samples (default 32; whole
    /// batches are kept, at most 256 MB), and <see cref="QuantizationReport.OutputSqnrDb"/> says how close the outputs
    /// are. 0 turns the check off. Dynamic mode has no calibration samples and checks only the weights.
    /// </summary>
    public int QualityCheckSamples { get; init; } = 32;

    /// <summary>
    /// Empirical bias correction (default false): calibration also takes the per-channel mean E[x] of the float input
    /// of every Conv, ConvTranspose, Gemm and MatMul with an int8 weight, and <see cref="PreparedModel.Convert"/> sets
    /// each such layer's bias to <c>b − (Ŵ − W)·E[x]</c> (Ŵ the dequantized weight), so that the int8 layer's mean
    /// output equals the float layer's; <see cref="QuantizationReport.BiasCorrectedLayers"/> counts them. Static mode
    /// only. The means are not part of statistics files: statistics loaded from a file correct nothing (the report
    /// warns). See the repository's <c>docs/accuracy.md</c>.
    /// </summary>
    public bool BiasCorrection { get; init; }

    /// <summary>
    /// Cross-layer equalization (default false; Nagel et al. 2019, "Data-Free Quantization"): after BatchNorm folding,
    /// for each Conv → [Relu, LeakyRelu, pooling] → Conv pair where the first conv feeds only the second (depthwise-separable stacks
    /// included), output channel i of the first conv is divided and input channel i of the second multiplied by
    /// <c>sᵢ = √(r₁ᵢ/r₂ᵢ)</c> (rᵢ the channel's largest |weight|), so that both weight ranges become equal; the float
    /// model computes the same function. Relu6 (a Clip with a max) ends a chain. Data-free: static and dynamic mode.
    /// <see cref="QuantizationReport.EqualizedPairs"/> counts the pairs. See the repository's <c>docs/accuracy.md</c>.
    /// </summary>
    public bool CrossLayerEqualization { get; init; }

    /// <summary>
    /// SmoothQuant's migration strength α in (0, 1] (default null: off; Xiao et al. 2022, "SmoothQuant"): for each
    /// activation X read by MatMul/Gemm nodes with a constant weight W, per input channel j
    /// <c>sⱼ = max|Xⱼ|^α / max|Wⱼ|^(1−α)</c>, X becomes X/s (folded into a LayerNorm's γ and β, or a Mul by 1/s) and W
    /// becomes diag(s)·W; the float model computes the same function. The per-channel max|X| come from the calibration
    /// data: without <see cref="SmoothQuantMaxima"/>, prepare builds the float graph once and returns a model whose
    /// <see cref="PreparedModel.NeedsSmoothQuant"/> is true; <see cref="PreparedModel.SmoothQuant"/> measures the maxima
    /// on that graph, smooths it and gives the model to calibrate. Static mode only.
    /// <see cref="QuantizationReport.SmoothedLayers"/> counts the smoothed nodes. See the repository's <c>docs/accuracy.md</c>.
    /// </summary>
    /// <example>
    /// <code language="csharp">
    /// var prepared = QuantizationFlow.Prepare(model, quantizer, new PrepareOptions { SmoothQuantAlpha = 0.5 });
    /// prepared = prepared.SmoothQuant(batches); // measures the maxima, smooths, annotates again
    /// prepared.Calibrate(batches);
    /// </code>
    /// </example>
    public double? SmoothQuantAlpha { get; init; }

    /// <summary>
    /// The per-input-channel max|X| of each activation SmoothQuant smooths, by tensor name in the unsmoothed prepared
    /// float graph, as <see cref="QuantizationFlow.MeasureSmoothQuantMaxima"/> returns them (for maxima measured apart,
    /// e.g. once for several preparations); used only with <see cref="SmoothQuantAlpha"/>, and then prepare smooths at
    /// once. Leave it null to let <see cref="PreparedModel.SmoothQuant"/> measure them on the graph prepare builds. An
    /// activation missing here (or with another channel count) is left as it is.
    /// </summary>
    public IReadOnlyDictionary<string, float[]>? SmoothQuantMaxima { get; init; }

    /// <summary>Below this output SQNR (dB, default 15) the report warns and names the worst quantization points.</summary>
    public double OutputSqnrWarningDb { get; init; } = 15;

    /// <summary>A quantized weight below this SQNR (dB, default 20) is named in a warning; per-channel int8 weights normally reach 35–45 dB.</summary>
    public double WeightSqnrWarningDb { get; init; } = 20;

    /// <summary>
    /// The most bytes one tensor made by constant folding may take; null (the default) for the larger of 64 MiB and 4×
    /// the bytes of the model's initializers. Folding also stops once its tensors together take 4× this. Sizes are
    /// known before anything is computed (ONNX Runtime's shape inference over the constant inputs), so a small model that
    /// would unfold into gigabytes (ConstantOfShape, Expand, Tile, Concat...) is refused with an
    /// <see cref="Graph.OnnxGraphException"/> naming the node, before it takes the memory. Nodes whose evaluation would
    /// take over 2^30 multiply-adds (e.g. a MatMul of two large constants) are not folded: they stay in the graph and
    /// run at inference.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long? MaxFoldedTensorBytes
    {
        get => _maxFoldedTensorBytes;
        init
        {
            if (value is { } bytes)
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
            _maxFoldedTensorBytes = value;
        }
    }

    private readonly int _calibrationThreads;
    private readonly long? _maxFoldedTensorBytes;

    /// <summary>The default of <see cref="MaxNodeCount"/>: 200,000.</summary>
    public const int DefaultMaxNodeCount = 200_000;

    /// <summary>
    /// The most nodes (main graph, subgraphs and local functions together) a model may have; a larger one is refused
    /// before any graph is built or ONNX Runtime sees it, with an <see cref="Graph.OnnxGraphException"/> naming the count.
    /// Default <see cref="DefaultMaxNodeCount"/> (200,000), several times the largest real CNNs and transformers
    /// (10–50k nodes). ONNX Runtime needs several KB of memory per node for each session quantizing builds (measured in
    /// the repository's <c>docs/reliability.md</c>), so raise it only for a genuine model and with memory to match.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int MaxNodeCount
    {
        get => _maxNodeCount;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxNodeCount = value;
        }
    }

    private readonly int _maxNodeCount = DefaultMaxNodeCount;

    /// <summary>The default of <see cref="CalibrationMemoryBudgetBytes"/>: 512 MiB.</summary>
    public const long DefaultCalibrationMemoryBudgetBytes = 512L << 20;

    /// <summary>
    /// The most bytes one calibration run may hold in observed tensors (default 512 MiB). A run returns the batch's
    /// inputs and every observed activation at once, so a batch takes at most budget ÷ (those tensors' bytes per sample,
    /// from shape inference) samples: <see cref="PreparedModel.CalibrationBatchSize"/> says how many. Peak memory then
    /// depends on the budget and not on the number of calibration samples. A model with a fixed batch runs its batch.
    /// </summary>
    /// <example><c>new PrepareOptions { CalibrationMemoryBudgetBytes = 256L &lt;&lt; 20 }</c> for 256 MiB.</example>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public long CalibrationMemoryBudgetBytes
    {
        get => _calibrationMemoryBudgetBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _calibrationMemoryBudgetBytes = value;
        }
    }

    private readonly long _calibrationMemoryBudgetBytes = DefaultCalibrationMemoryBudgetBytes;
}
