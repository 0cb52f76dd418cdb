using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Quantizes an ONNX model to int8 on the data passed to <see cref="Fit"/> (static mode calibrates on at most
/// <see cref="QuantizationOptions.MaxCalibrationRows"/> rows, streamed) and returns a
/// <see cref="QuantizedModelTransformer"/>. Created by <c>mlContext.Transforms.Quantize(...)</c>.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ###  Estimator Characteristics
/// |  |  |
/// | -- | -- |
/// | Does this estimator need to look at the data to train its parameters? | Yes in static mode (calibration reads up to `MaxCalibrationRows` rows); no in dynamic mode |
/// | Input column data type | Known-sized vector of Single (float32 model inputs; Double, Int64, Int32 and Byte columns are converted), or of the model input's own element type |
/// | Output column data type | As the model's outputs: vectors of Single for float outputs |
/// | Required NuGet in addition to Microsoft.ML | MLNet.Quantization (brings Microsoft.ML.OnnxTransformer and Microsoft.ML.OnnxRuntime) |
/// | Exportable to ONNX | Yes: `QuantizedModelTransformer.ExportOnnx` writes the QDQ model |
///
/// The fitted transformer scores with ONNX Runtime's CPU execution provider, which fuses the QDQ graph into its x86
/// int8 kernels (QLinearConv, QLinearMatMul, QGemm, DynamicQuantizeMatMul). It saves with `mlContext.Model.Save`; the
/// saved zip holds an ML.NET `OnnxTransformer` over the quantized model.
///
/// Check the figures: `QuantizedModelTransformer.QuantizationReport` says what was quantized, what stayed float and
/// why, and carries warnings (for example dynamic mode on a model with nothing it can quantize).
/// ]]></format>
/// </remarks>
/// <example>
/// <code language="csharp">
/// var estimator = mlContext.Transforms.Quantize(new QuantizationOptions { ModelFile = "cnn.onnx", MaxCalibrationRows = 512 });
/// using var quantized = estimator.Fit(calibrationView);
/// var predictions = quantized.Transform(testView);
/// </code>
/// </example>
public sealed class QuantizationEstimator : IEstimator<QuantizedModelTransformer>
{
    private readonly TransformsCatalog _catalog;
    private readonly QuantizationOptions _options;
    private readonly OnnxModel _model;
    private readonly IReadOnlyList<ValueInfo> _inputs;
    private readonly string[] _outputNames;
    private readonly Dictionary<string, OnnxScoringEstimator> _schemaEstimators = new(StringComparer.Ordinal);

    internal QuantizationEstimator(TransformsCatalog catalog, QuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        if ((options.ModelFile is null) == (options.ModelBytes is null))
            throw new ArgumentException("Set exactly one of QuantizationOptions.ModelFile and QuantizationOptions.ModelBytes.", nameof(options));
        if (options.MaxCalibrationRows < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxCalibrationRows must be at least 1, got {options.MaxCalibrationRows}.");
        if (options.IntraOpNumThreads is < 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"IntraOpNumThreads must be 0 (ORT's default) or more, got {options.IntraOpNumThreads}.");
        if (options.MaxNodeCount < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxNodeCount must be at least 1, got {options.MaxNodeCount}.");
        if (options.CalibrationMemoryBudgetBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"CalibrationMemoryBudgetBytes must be positive, got {options.CalibrationMemoryBudgetBytes}.");
        if (options.BatchSize < 1 || options.ScoringBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize and ScoringBatchSize must be at least 1, got {options.BatchSize} and {options.ScoringBatchSize}.");
        if (new OptionCombination(options.Mode == QuantizationMode.Static, options.SmoothQuantAlpha, OutputSqnrRepair: options.MinOutputSqnr is not null, SpeedAware: options.SpeedAware).Check()
            is OptionConflict.SmoothQuantAlphaOutOfRange or OptionConflict.SmoothQuantNeedsStatic or OptionConflict.SmoothQuantWithSearch)
            throw new ArgumentOutOfRangeException(nameof(options), $"SmoothQuantAlpha must lie in (0, 1] and needs static mode without MinOutputSqnr or SpeedAware; got {options.SmoothQuantAlpha} in {options.Mode} mode.");
        if (options.Quantizer is not null && (options.ActivationObserver is not null || options.ReduceRange || options.ExcludedNodes.Count > 0))
            throw new ArgumentException("ActivationObserver, ReduceRange and ExcludedNodes configure the default quantizer; configure a custom Quantizer directly instead.", nameof(options));
        if (options.BiasCorrection && options.Mode != QuantizationMode.Static)
            throw new ArgumentException($"BiasCorrection needs static mode (it corrects with the calibration means), not {options.Mode}.", nameof(options));
        if (options.MinOutputSqnr is { } minSqnr && (options.Quantizer is not null || options.Mode != QuantizationMode.Static || !double.IsFinite(minSqnr)))
            throw new ArgumentException($"MinOutputSqnr ({minSqnr}) needs a finite number of dB, static mode and the default quantizer (the repair builds a fresh one for every trial).", nameof(options));
        if (options.SpeedAware && (options.Quantizer is not null || options.Mode != QuantizationMode.Static
            || new OptionCombination(Static: true, OutputSqnrRepair: options.MinOutputSqnr is not null, SpeedAware: true).Check() == OptionConflict.SpeedAwareWithSearch))
            throw new ArgumentException("SpeedAware needs static mode and the default quantizer (each trial builds a fresh one), and cannot be combined with MinOutputSqnr.", nameof(options));
        if (options.SpeedAwareCachePath is not null && !options.SpeedAware)
            throw new ArgumentException("SpeedAwareCachePath only applies with SpeedAware.", nameof(options));
        _catalog = catalog;
        _options = options;
        _model = options.ModelFile is not null ? OnnxModel.Load(options.ModelFile) : OnnxModel.Load(options.ModelBytes!);
        var graph = OnnxGraph.FromModel(_model);
        Shapes.InputShapeOverrides.Apply(graph, InputShapes);
        var modelInputs = graph.Inputs;
        var modelOutputs = graph.Outputs.Select(o => o.Name).ToArray();
        _inputs = Select(modelInputs, options.InputColumns, modelInputs.Select(i => i.Name).ToArray(), "input");
        _outputNames = options.OutputColumns ?? modelOutputs;
        foreach (var name in _outputNames.Where(n => !modelOutputs.Contains(n)))
            throw new ArgumentException($"Output column '{name}' is not an output of the model; outputs: {string.Join(", ", modelOutputs)}.", nameof(options));
    }

    /// <summary>The model inputs this estimator reads, each from the column of the same name.</summary>
    public IReadOnlyList<string> InputColumnNames => _inputs.Select(i => i.Name).ToArray();

    /// <summary>The output columns (model outputs) it adds.</summary>
    public IReadOnlyList<string> OutputColumnNames => _outputNames;

    /// <summary>Checks the input columns (name, item type, vector kind) and declares the model's output columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or has the wrong type (named in the message, with the expected type and shape).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var types = _inputs.ToDictionary(i => i.Name, i => ModelInputBinding.Check(i, inputSchema), StringComparer.Ordinal);
        return SchemaEstimator(types).GetOutputSchema(inputSchema);
    }

    /// <summary>
    /// Prepares the model with the quantizer, calibrates it on at most <see cref="QuantizationOptions.MaxCalibrationRows"/>
    /// rows of <paramref name="input"/> (static mode), converts it to QDQ and builds the transformer.
    /// </summary>
    /// <param name="input">Representative rows with the model's input columns; static mode calibrates on them, dynamic mode reads only its schema.</param>
    /// <returns>The transformer that scores the int8 model; dispose it to delete its temporary model file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or has the wrong type or vector size.</exception>
    /// <exception cref="InvalidOperationException">Static mode and <paramref name="input"/> has no rows.</exception>
    /// <exception cref="Graph.OnnxGraphException">ONNX Runtime cannot load the model, or a weight is not finite (the message names the node).</exception>
    /// <exception cref="Calibration.CalibrationException">A calibration batch failed in ONNX Runtime (the message names the input or tensor).</exception>
    /// <exception cref="Onnx.VersionConversion.OpsetConversionException">The model's opset is below 13 and a node cannot be converted.</exception>
    public QuantizedModelTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = _inputs.Select(i => ModelInputBinding.Bind(i, input.Schema)).ToList(); // the columns, checked before the slow prepare
        var prepareOptions = new PrepareOptions
        {
            InputShapes = InputShapes,
            MaxFoldedTensorBytes = _options.MaxFoldedTensorBytes,
            MaxNodeCount = _options.MaxNodeCount,
            CalibrationMemoryBudgetBytes = _options.CalibrationMemoryBudgetBytes,
            Progress = _options.StageProgress,
            BiasCorrection = _options.BiasCorrection,
            CrossLayerEqualization = _options.CrossLayerEqualization,
            SmoothQuantAlpha = _options.SmoothQuantAlpha,
        };
        var prepared = QuantizationFlow.Prepare(_model, BuildQuantizer(), prepareOptions, _options.CancellationToken);
        QuantizedModel? repaired = null;
        // the prepared graph's inputs: a fixed batch made symbolic there scores (and calibrates) many rows per run
        var preparedInputs = prepared.Graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var scoringInputs = _inputs.Select(i => preparedInputs[i.Name]).ToList();
        var bindings = scoringInputs.Select(i => ModelInputBinding.Bind(i, input.Schema)).ToList();
        if (prepared.NeedsCalibration)
        {
            using (var probe = input.GetRowCursor([]))
            {
                if (!probe.MoveNext())
                    throw new InvalidOperationException("The calibration data view has no rows; static quantization needs representative rows (or use QuantizationMode.Dynamic).");
            }

            int batch = prepared.FixedBatchSize ?? (bindings.Any(b => b.RowSize < 0) ? 1 : prepared.CalibrationBatchSize(_options.BatchSize));
            long? total = input.GetRowCount() is { } rows ? Math.Min((long)_options.MaxCalibrationRows, rows) : null;
            var batches = CalibrationBatches(input, bindings, batch, exact: prepared.FixedBatchSize is not null);
            if (prepared.NeedsSmoothQuant)
            {
                // SmoothQuant's first pass over the rows: the activation maxima of the float graph prepare built, which it then smooths
                prepared = prepared.SmoothQuant(batches, _options.CancellationToken);
            }

            if (_options.MinOutputSqnr is { } minSqnr)
            {
                // every trial of the repair reads the same rows again through a new cursor, one batch at a time
                repaired = new Diagnostics.OutputSqnrRepair(() => (X86Quantizer)BuildQuantizer(), prepareOptions)
                    .RunStreamed(_model, batches, new Diagnostics.OutputSqnrRepairOptions { MinOutputSqnrDb = minSqnr }, _options.CancellationToken);
            }
            else if (_options.SpeedAware)
            {
                repaired = new Diagnostics.SpeedAwarePlacement(() => (X86Quantizer)BuildQuantizer(), prepareOptions)
                    .RunStreamed(_model, batches, new Diagnostics.SpeedAwareOptions { CachePath = _options.SpeedAwareCachePath }, _options.CancellationToken);
            }
            else
                prepared.Calibrate(batches, _options.Progress, total, _options.CancellationToken);
        }

        var quantized = repaired ?? prepared.Convert();
        byte[] qdq = quantized.Model.ToBytes();
        var types = bindings.ToDictionary(b => b.Name, b => b.ColumnElementType, StringComparer.Ordinal);
        byte[] scoring = InputAdapter.Adapt(quantized.Model, types);
        var (sessionModel, scoringBatch) = DynamicScoringModel.Choose(quantized.Model, _options.DynamicRangeScope, _options.ScoringBatchSize, _options.CancellationToken);
        byte[] session = ReferenceEquals(sessionModel, quantized.Model) ? scoring : InputAdapter.Adapt(sessionModel, types);
        var file = ScoringModelFile.Write(scoring, _options.TempDirectory);
        Microsoft.ML.Transforms.Onnx.OnnxTransformer? onnx = null;
        try
        {
            onnx = _catalog.ApplyOnnxModel(_outputNames, InputColumnNames.ToArray(), file.Path).Fit(input);
            return new QuantizedModelTransformer(onnx, file, session, qdq, quantized.Report, scoringInputs, types, scoringBatch, _options.IntraOpNumThreads);
        }
        catch
        {
            onnx?.Dispose();
            file.Dispose();
            throw;
        }
    }

    private IEnumerable<IReadOnlyList<Calibration.NamedTensor>> CalibrationBatches(IDataView input, List<ModelInputBinding> bindings, int batch, bool exact)
    {
        using var cursor = input.GetRowCursor(bindings.Select(b => input.Schema[b.Name]));
        var readers = bindings.Select(b => InputColumnReader.Create(b, cursor, batch)).ToList();
        int total = 0;
        while (total < _options.MaxCalibrationRows)
        {
            int count = 0;
            int limit = Math.Min(batch, _options.MaxCalibrationRows - total);
            while (count < limit && cursor.MoveNext())
            {
                foreach (var reader in readers)
                    reader.Read(count);
                count++;
            }

            if (count == 0 || (exact && count < batch))
                yield break; // a fixed-batch model takes only whole batches
            total += count;
            yield return readers.Select(r => r.ToNamedTensor(count)).ToList();
            if (count < limit)
                yield break;
        }
    }

    private IReadOnlyDictionary<string, int[]>? InputShapes => _options.ShapeDictionary is null ? null : new Dictionary<string, int[]>(_options.ShapeDictionary, StringComparer.Ordinal);

    private Quantizer BuildQuantizer()
    {
        if (_options.Quantizer is not null)
            return _options.Quantizer;
        bool dynamic = _options.Mode == QuantizationMode.Dynamic;
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(
            isDynamic: dynamic, reduceRange: _options.ReduceRange, activationObserver: dynamic ? null : _options.ActivationObserver));
        var graph = OnnxGraph.FromModel(_model);
        foreach (var item in _options.ExcludedNodes)
        {
            if (graph.Nodes.Any(n => n.Name == item))
                quantizer.SetNodeName(item, null);
            else if (X86Quantizer.SupportedOperatorTypes.Contains(item))
                quantizer.SetOperatorType(item, null);
            else
                throw new ArgumentException($"Excluded node '{item}' is neither a node name of the model nor an operator type the X86 quantizer anchors on ({string.Join(", ", X86Quantizer.SupportedOperatorTypes.Order(StringComparer.Ordinal))}).");
        }

        return quantizer;
    }

    private OnnxScoringEstimator SchemaEstimator(IReadOnlyDictionary<string, TensorElementType> types)
    {
        string key = string.Join(";", types.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value));
        lock (_schemaEstimators)
        {
            if (!_schemaEstimators.TryGetValue(key, out var estimator))
            {
                // A QDQ model keeps the float model's inputs and outputs, so the float model (with the same input casts) declares the schema.
                // ML.NET reads the file while building the estimator and never again (it is not saved), so it goes right away.
                using var file = ScoringModelFile.Write(InputAdapter.Adapt(_model, types), _options.TempDirectory);
                estimator = _catalog.ApplyOnnxModel(_outputNames, InputColumnNames.ToArray(), file.Path);
                _schemaEstimators[key] = estimator;
            }

            return estimator;
        }
    }

    private static IReadOnlyList<ValueInfo> Select(IReadOnlyList<ValueInfo> all, string[]? names, string[] defaults, string kind)
    {
        names ??= defaults;
        var result = new List<ValueInfo>();
        foreach (var name in names)
        {
            result.Add(all.FirstOrDefault(v => v.Name == name)
                ?? throw new ArgumentException($"Column '{name}' is not an {kind} of the model; ML.NET binds columns to model {kind}s by name. Model {kind}s: {string.Join(", ", defaults)}.", nameof(names)));
        }

        if (kind == "input" && result.Count != all.Count)
            throw new ArgumentException($"The model needs every input ({string.Join(", ", defaults)}); got {string.Join(", ", names)}.", nameof(names));
        return result;
    }
}
