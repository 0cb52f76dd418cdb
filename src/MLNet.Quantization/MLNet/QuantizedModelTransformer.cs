using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Runtime;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization;

/// <summary>
/// A fitted quantizer: scores an int8 (QDQ) ONNX model in ONNX Runtime, many rows per run, and saves as ML.NET's own
/// <see cref="Microsoft.ML.Transforms.Onnx.OnnxTransformer"/>.
/// </summary>
/// <remarks>
/// <para><see cref="Transform"/> is lazy. Its cursor reads up to <see cref="QuantizationOptions.ScoringBatchSize"/>
/// rows ahead, runs the model once on them and serves them one at a time; the values are the same as one row per run
/// (dynamic mode computes activation ranges per row, see <see cref="QuantizationOptions.DynamicRangeScope"/>).</para>
/// <para>Saving: <c>mlContext.Model.Save</c> writes the wrapped OnnxTransformer, QDQ bytes included. ML.NET 5.0.1 does
/// not let third-party transformers register a loader, so <c>mlContext.Model.Load</c> gives back that plain
/// OnnxTransformer: it runs the same int8 model, one row per run, and needs only Microsoft.ML.OnnxTransformer (not this
/// package). <see cref="Load(MLContext, string, out DataViewSchema, int, int?)"/> loads such a file with this
/// transformer back in place, batching again.</para>
/// </remarks>
public sealed partial class QuantizedModelTransformer : ITransformer, IDisposable
{
    private readonly byte[] _scoringModel;
    private readonly byte[] _qdqModel;
    private readonly IReadOnlyList<ValueInfo> _modelInputs;
    private readonly IReadOnlyDictionary<string, TensorElementType> _columnTypes;
    private readonly int _batchSize;
    private readonly InferenceSession _session;
    private readonly ScoringModelFile? _modelFile;
    private bool _disposed;

    internal QuantizedModelTransformer(OnnxTransformer onnx, ScoringModelFile? modelFile, byte[] scoringModel, byte[] qdqModel, QuantizationReport report,
        IReadOnlyList<ValueInfo> modelInputs, IReadOnlyDictionary<string, TensorElementType> columnTypes, int batchSize, int? intraOpNumThreads = null)
    {
        OnnxTransformer = onnx;
        _modelFile = modelFile;
        _scoringModel = scoringModel;
        _qdqModel = qdqModel;
        QuantizationReport = report;
        _modelInputs = modelInputs;
        _columnTypes = columnTypes;
        _batchSize = modelInputs.Any(IsFixedBatch) ? 1 : batchSize;
        // ORT_ENABLE_ALL: with every op int8 the NHWC layout transform (QLinearConv, NhwcMaxPool) measured 1.5–2.9×
        // faster than ORT_ENABLE_EXTENDED for the bundled CNNs, and equal for the transformer.
        using var options = OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL);
        if (intraOpNumThreads is { } threads and > 0)
            options.IntraOpNumThreads = threads;
        // Intra-op threads wait for work asleep, not spinning: a run of many rows gives each parallel op enough work to
        // pay for the wake-up, and spinning threads starve the ML.NET pipeline and other processes on a busy machine
        // (fmnist_rowtf per-row, 32 rows per run, 2 threads on a loaded 2-core machine: 449 µs/row spinning, 250 not).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = Runtime.OrtBoundary.CreateSession(scoringModel, options, "quantized model", "score it");
    }

    /// <summary>What was quantized, what stayed in float and why, and the size before and after.</summary>
    public QuantizationReport QuantizationReport { get; }

    /// <summary>ML.NET's OnnxTransformer over the QDQ model: what <c>mlContext.Model.Save</c> writes and <c>Load</c> returns.</summary>
    public OnnxTransformer OnnxTransformer { get; }

    /// <summary>
    /// Rows per ONNX Runtime run in <see cref="Transform"/>: <see cref="QuantizationOptions.ScoringBatchSize"/>, or 1 when
    /// the model's batch dimension stays fixed (<see cref="QuantizationReport.FixedBatchSize"/>; a fixed batch the graph
    /// allows to be symbolic was made symbolic, see <see cref="QuantizationReport.BatchDimension"/>), or in dynamic mode when
    /// the model has no per-row form (<see cref="DynamicRangeScope.PerRow"/>).
    /// Variable-size vector columns also score one row per run.
    /// </summary>
    public int ScoringBatchSize => _batchSize;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <summary>
    /// Writes the QDQ ONNX model (float inputs and outputs, as the original model declares them) atomically: to a
    /// temporary file in the same folder, then renamed over <paramref name="path"/>. A failed write leaves no file
    /// behind and an existing file untouched.
    /// </summary>
    public void ExportOnnx(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Onnx.PendingFile.Write(path, stream => stream.Write(_qdqModel));
    }

    /// <summary>Writes the QDQ ONNX model to <paramref name="stream"/>, in one write call.</summary>
    public void ExportOnnx(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(_qdqModel);
    }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Validate(inputSchema);
        return OnnxTransformer.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        Validate(inputSchema);
        return ((ITransformer)OnnxTransformer).GetRowToRowMapper(inputSchema);
    }

    /// <summary>Scores lazily, many rows per ONNX Runtime run; see the remarks on the class.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or has the wrong type or size (named in the message).</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var bindings = Validate(input.Schema);
        var schema = OnnxTransformer.GetOutputSchema(input.Schema);
        int batch = bindings.Any(b => b.RowSize < 0) ? 1 : _batchSize;
        return new BatchScoringDataView(input, schema, _session, bindings, batch);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)OnnxTransformer).Save(ctx);

    /// <summary>Releases the ONNX Runtime sessions and deletes the model file the OnnxTransformer read.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _session.Dispose();
        OnnxTransformer.Dispose();
        _modelFile?.Dispose();
    }

    private List<ModelInputBinding> Validate(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var bindings = _modelInputs.Select(i => ModelInputBinding.Bind(i, schema)).ToList();
        foreach (var binding in bindings)
        {
            var fitted = _columnTypes[binding.Name];
            if (binding.ColumnElementType != fitted)
                throw new ArgumentOutOfRangeException(nameof(schema),
                    $"Input column '{binding.Name}' has item type {ModelInputBinding.DataViewTypeOf(binding.ColumnElementType)}, but the transformer was fitted on {ModelInputBinding.DataViewTypeOf(fitted)}.");
        }

        return bindings;
    }

    internal byte[] ScoringModel => _scoringModel;

    private static bool IsFixedBatch(ValueInfo input) => input.Shape is { Count: > 0 } s && s[0].Value is not null;
}
