using MLNet.Quantization.Calibration;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Options of <c>mlContext.Transforms.Quantize(options)</c>: which ONNX model, which columns, static or dynamic mode,
/// and how calibration and scoring run. Names follow ML.NET's <c>OnnxOptions</c> where the concept is the same
/// (<see cref="ModelFile"/>, <see cref="InputColumns"/>, <see cref="OutputColumns"/>, <see cref="ShapeDictionary"/>,
/// <see cref="IntraOpNumThreads"/>).
/// </summary>
/// <example>
/// Static int8 quantization of an image classifier, calibrated on 256 rows of the training view:
/// <code language="csharp">
/// var options = new QuantizationOptions
/// {
///     ModelFile = "resnet.onnx",
///     InputColumns = ["data"],
///     OutputColumns = ["logits"],
///     MaxCalibrationRows = 256,
///     Progress = new Progress&lt;CalibrationProgress&gt;(p =&gt; Console.WriteLine($"{p.Samples} rows, {p.Elapsed}")),
/// };
/// var model = mlContext.Transforms.Quantize(options).Fit(trainingData);
/// Console.WriteLine(model.QuantizationReport);
/// </code>
/// </example>
public sealed class QuantizationOptions
{
    /// <summary>Path of the float ONNX model, as <c>OnnxOptions.ModelFile</c>. Set this or <see cref="ModelBytes"/>.</summary>
    public string? ModelFile { get; set; }

    /// <summary>Former name of <see cref="ModelFile"/>.</summary>
    [Obsolete("Use ModelFile, the name OnnxOptions uses.")]
    public string? ModelPath { get => ModelFile; set => ModelFile = value; }

    /// <summary>The float ONNX model's bytes. Set this or <see cref="ModelFile"/>.</summary>
    public byte[]? ModelBytes { get; set; }

    /// <summary>
    /// Input columns, as <c>OnnxOptions.InputColumns</c>: each column name is the name of a model input. Default: the
    /// model's input names.
    /// </summary>
    public string[]? InputColumns { get; set; }

    /// <summary>Former name of <see cref="InputColumns"/>.</summary>
    [Obsolete("Use InputColumns, the name OnnxOptions uses.")]
    public string[]? InputColumnNames { get => InputColumns; set => InputColumns = value; }

    /// <summary>Output columns, as <c>OnnxOptions.OutputColumns</c>: each is the name of a model output. Default: the model's output names.</summary>
    public string[]? OutputColumns { get; set; }

    /// <summary>Former name of <see cref="OutputColumns"/>.</summary>
    [Obsolete("Use OutputColumns, the name OnnxOptions uses.")]
    public string[]? OutputColumnNames { get => OutputColumns; set => OutputColumns = value; }

    /// <summary>
    /// Sizes for model inputs by name, as <c>OnnxOptions.ShapeDictionary</c> gives them, e.g.
    /// <c>{ ["x"] = [1, 3, 640, 640] }</c> for a detector with symbolic N×3×H×W: the named inputs are declared with these
    /// shapes for shape inference, calibration and scoring. A name that is not a model input is an error listing the
    /// inputs. Null (the default) keeps the model's shapes.
    /// </summary>
    public IDictionary<string, int[]>? ShapeDictionary { get; set; }

    /// <summary>Former name of <see cref="ShapeDictionary"/>.</summary>
    [Obsolete("Use ShapeDictionary, the name OnnxOptions uses.")]
    public IDictionary<string, int[]>? InputShapes { get => ShapeDictionary; set => ShapeDictionary = value; }

    /// <summary>Static (calibrated, the default) or dynamic quantization.</summary>
    public QuantizationMode Mode { get; set; } = QuantizationMode.Static;

    /// <summary>
    /// The quantizer. Default: <c>new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: Mode == Dynamic,
    /// reduceRange: ReduceRange, activationObserver: ActivationObserver))</c>, with <see cref="ExcludedNodes"/> left in
    /// float. A custom quantizer cannot be combined with <see cref="ActivationObserver"/>, <see cref="ReduceRange"/> or
    /// <see cref="ExcludedNodes"/> (configure it directly).
    /// </summary>
    public Quantizer? Quantizer { get; set; }

    /// <summary>Activation observer of the default quantizer (static mode), e.g. <c>o =&gt; new MinMaxObserver(o)</c>; null for the X86 default (histogram).</summary>
    public Func<ObserverOptions, Observer>? ActivationObserver { get; set; }

    /// <summary>At most this many rows of the view given to <c>Fit</c> are used for calibration (default 512).</summary>
    public int MaxCalibrationRows { get; set; } = 512;

    /// <summary>
    /// Rows per ONNX Runtime run during calibration (default 64). A model whose batch dimension stays fixed (see
    /// <see cref="QuantizationReport.FixedBatchSize"/>) calibrates on exactly that many rows per run instead.
    /// </summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// The most bytes one calibration run may hold in inputs and observed activations (default 512 MiB), as
    /// <see cref="PrepareOptions.CalibrationMemoryBudgetBytes"/>: a batch of <see cref="BatchSize"/> rows that would need
    /// more runs fewer rows, so peak memory during <c>Fit</c> does not grow with <see cref="MaxCalibrationRows"/>.
    /// </summary>
    public long CalibrationMemoryBudgetBytes { get; set; } = PrepareOptions.DefaultCalibrationMemoryBudgetBytes;

    /// <summary>
    /// Rows per ONNX Runtime run when <see cref="QuantizedModelTransformer.Transform"/> scores (default 64, the fastest
    /// setting measured; the figures are in the repository's <c>docs/benchmarks.md</c>).
    /// A model exported with a fixed batch of 1 (CNTK, Keras) is made batchable first when its graph allows it, and then
    /// scores this many rows per run too; otherwise it scores one row per run.
    /// <see cref="QuantizedModelTransformer.ScoringBatchSize"/> says which.
    /// </summary>
    public int ScoringBatchSize { get; set; } = 64;

    /// <summary>
    /// How a dynamic model scores: one row per run on the exported model (<see cref="DynamicRangeScope.SingleRow"/>, the
    /// default; outputs equal the exported model's), many rows per run with a range per row
    /// (<see cref="DynamicRangeScope.PerRow"/>; a row's outputs do not depend on its batch mates) or with one range over
    /// the batch (<see cref="DynamicRangeScope.PerBatch"/>, PyTorch's dynamic linear semantics). Static models ignore it.
    /// </summary>
    public DynamicRangeScope DynamicRangeScope { get; set; } = DynamicRangeScope.SingleRow;

    /// <summary>
    /// Threads ONNX Runtime uses inside one operator when scoring, as <c>ApplyOnnxModel</c>'s <c>intraOpNumThreads</c>;
    /// null or 0 for ORT's default (one per physical core). On a machine shared with other busy processes, 1 avoids
    /// thread contention; on an idle machine ORT's default is faster (measured in the repository's <c>docs/benchmarks.md</c>).
    /// </summary>
    public int? IntraOpNumThreads { get; set; }

    /// <summary>7-bit activations ([0, 127]) for CPUs without VNNI (default quantizer only).</summary>
    public bool ReduceRange { get; set; }

    /// <summary>
    /// Label-free repair (static mode, default quantizer): when set, the output SQNR of int8 against float on the first
    /// 32 calibration rows must reach this many dB, and the fewest Conv/ConvTranspose/Gemm/MatMul layers, most harmful
    /// first, go back to float until it does (see <see cref="Diagnostics.OutputSqnrRepair"/>; each trial calibrates
    /// again, so <c>Fit</c> takes about one calibration per candidate layer when a repair is needed). The decisions are
    /// in <see cref="QuantizationReport.Repair"/>; an unreachable target leaves a warning there, not an exception.
    /// Null (the default) for no repair.
    /// </summary>
    /// <example><c>new QuantizationOptions { ModelFile = "det.onnx", MinOutputSqnr = 25 }</c></example>
    public double? MinOutputSqnr { get; set; }

    /// <summary>
    /// Speed-aware placement (static mode, default quantizer; default false): profile each Conv/ConvTranspose/Gemm/MatMul
    /// in int8 and fp32 with ONNX Runtime on this CPU, on the first calibration rows, and keep float those whose int8
    /// form is not faster, then check the whole model against fp32 (see <see cref="Diagnostics.SpeedAwarePlacement"/>).
    /// The decisions are in <see cref="QuantizationReport.SpeedAware"/>. Cannot be combined with <see cref="MinOutputSqnr"/>.
    /// </summary>
    /// <example><c>new QuantizationOptions { ModelFile = "cls.onnx", SpeedAware = true, SpeedAwareCachePath = "cls.speed.json" }</c></example>
    public bool SpeedAware { get; set; }

    /// <summary>Where <see cref="SpeedAware"/> keeps its measurements (see <see cref="Diagnostics.SpeedAwareOptions.CachePath"/>); null (the default): measure on every <c>Fit</c>.</summary>
    public string? SpeedAwareCachePath { get; set; }

    /// <summary>
    /// Empirical bias correction (static mode; default false), as <see cref="PrepareOptions.BiasCorrection"/>: each
    /// int8-weight Conv, ConvTranspose, Gemm and MatMul gets its bias corrected by the weight error times the layer's
    /// mean input over the calibration rows; <see cref="QuantizationReport.BiasCorrectedLayers"/> counts them.
    /// </summary>
    /// <example><c>new QuantizationOptions { ModelFile = "cls.onnx", BiasCorrection = true }</c></example>
    public bool BiasCorrection { get; set; }

    /// <summary>
    /// Cross-layer equalization (default false), as <see cref="PrepareOptions.CrossLayerEqualization"/>: the per-channel
    /// weight ranges of each Conv → [Relu, LeakyRelu, pooling] → Conv pair are equalized before the weights are observed, without changing
    /// what the float model computes; <see cref="QuantizationReport.EqualizedPairs"/> counts the pairs.
    /// </summary>
    /// <example><c>new QuantizationOptions { ModelFile = "mobilenet.onnx", CrossLayerEqualization = true }</c></example>
    public bool CrossLayerEqualization { get; set; }

    /// <summary>
    /// SmoothQuant's migration strength α in (0, 1] (default null: off), as <see cref="PrepareOptions.SmoothQuantAlpha"/>:
    /// <see cref="QuantizationEstimator.Fit"/> first reads the calibration rows once for the per-channel activation
    /// maxima of each MatMul/Gemm input, then smooths and calibrates; the float model computes the same function.
    /// Static mode only; not combined with <see cref="MinOutputSqnr"/> or <see cref="SpeedAware"/>.
    /// <see cref="QuantizationReport.SmoothedLayers"/> counts the smoothed nodes.
    /// </summary>
    /// <example><c>new QuantizationOptions { ModelFile = "transformer.onnx", SmoothQuantAlpha = 0.5 }</c></example>
    public double? SmoothQuantAlpha { get; set; }

    /// <summary>Node names, or ONNX operator types, that the default quantizer leaves in float.</summary>
    public IList<string> ExcludedNodes { get; set; } = new List<string>();

    /// <summary>
    /// Folder for the model file ML.NET's OnnxTransformer reads (and re-reads on <c>mlContext.Model.Save</c>); null for
    /// the system temp folder. The transformer deletes the file when disposed.
    /// </summary>
    public string? TempDirectory { get; set; }

    /// <summary>
    /// The most nodes (graph, subgraphs and functions) the model may have, as <see cref="PrepareOptions.MaxNodeCount"/>;
    /// default <see cref="PrepareOptions.DefaultMaxNodeCount"/> (200,000). A larger model is refused during <c>Fit</c>.
    /// </summary>
    public int MaxNodeCount { get; set; } = PrepareOptions.DefaultMaxNodeCount;

    /// <summary>
    /// Receives calibration progress after each batch during <c>Fit</c>: rows so far, and when the data view knows its
    /// row count, the total, the fraction done and an ETA (<see cref="CalibrationProgress.EstimatedRemaining"/>).
    /// </summary>
    public IProgress<CalibrationProgress>? Progress { get; set; }

    /// <summary>
    /// Receives a report as each step of <c>Fit</c> starts: prepare (opset conversion, folding, annotation), calibrate
    /// and convert, so that a large model is never silent before its first calibration batch.
    /// </summary>
    public IProgress<QuantizationProgress>? StageProgress { get; set; }

    /// <summary>
    /// The most bytes one tensor made by constant folding may take; null for the default, the larger of 64 MiB and 4×
    /// the model's initializer bytes. See <see cref="PrepareOptions.MaxFoldedTensorBytes"/>.
    /// </summary>
    public long? MaxFoldedTensorBytes { get; set; }

    /// <summary>
    /// Cancels <c>Fit</c>: prepare and calibration stop, also inside a running ONNX Runtime inference (through
    /// <c>RunOptions.Terminate</c>), with an <see cref="OperationCanceledException"/>. Use a
    /// <see cref="CancellationTokenSource"/> with a delay for a timeout.
    /// </summary>
    public CancellationToken CancellationToken { get; set; }
}
