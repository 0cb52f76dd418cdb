using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization;

/// <summary>Loading a saved pipeline back with the batching transformer in place of ML.NET's one-row OnnxTransformer.</summary>
public sealed partial class QuantizedModelTransformer
{
    /// <summary>
    /// Loads a model file that <c>mlContext.Model.Save</c> wrote for a pipeline holding a
    /// <see cref="QuantizedModelTransformer"/>, and gives it back with every ONNX transformer whose model was quantized by
    /// this library replaced by a <see cref="QuantizedModelTransformer"/> over the same QDQ model: the same columns and
    /// outputs, bit for bit, scored <paramref name="scoringBatchSize"/> rows per ONNX Runtime run instead of one.
    /// </summary>
    /// <remarks>
    /// <para>The file is loaded with ML.NET's own <c>mlContext.Model.Load</c> first, so every other transformer of the
    /// chain is ML.NET's as it would load it. Supported shapes: the saved transformer is the quantizer itself, or a
    /// <see cref="TransformerChain{TLastTransformer}"/> (nested chains included) in which it appears; the rebuilt chain's
    /// scopes are all <see cref="TransformerScope.Everything"/>. An ONNX transformer over a model this library did not
    /// quantize stays ML.NET's. The quantizer's model is recognised by the metadata every converted model carries
    /// (<c>mlnet_quantization.float_reference</c>).</para>
    /// <para>What the saved file does not hold: the <see cref="QuantizationReport"/> of a loaded transformer carries the
    /// mode, the quantized nodes by op type and the model size only, and <see cref="ExportOnnx(string)"/> writes the
    /// model ML.NET scored (the QDQ model, with a Cast in front of an input whose column had another numeric type).</para>
    /// <para>The zip is read in memory, never extracted: entries are bounded to 2 GiB (protobuf's limit), their names are
    /// only compared, never used as paths.</para>
    /// </remarks>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="path">The model file (.zip) <c>mlContext.Model.Save</c> wrote.</param>
    /// <param name="inputSchema">The schema the pipeline was saved with, as <c>mlContext.Model.Load</c> gives it.</param>
    /// <param name="scoringBatchSize">Rows per ONNX Runtime run (1 for a fixed-batch or dynamically quantized model), as <see cref="QuantizationOptions.ScoringBatchSize"/>.</param>
    /// <param name="intraOpNumThreads">ONNX Runtime's intra-op threads; null for its default.</param>
    /// <returns>The pipeline, with the quantizer batching again.</returns>
    /// <example>
    /// <code language="csharp">
    /// mlContext.Model.Save(pipeline, data.Schema, "model.zip");
    /// // later, or in another process
    /// ITransformer loaded = QuantizedModelTransformer.Load(mlContext, "model.zip", out var schema);
    /// var scored = loaded.Transform(newData);   // 64 rows per ORT run, as before saving
    /// </code>
    /// </example>
    /// <exception cref="InvalidDataException">The file is not a zip, an ONNX entry is corrupt or over the bound, or the pipeline holds no model quantized by this library (the message names the file).</exception>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema, int scoringBatchSize = 64, int? intraOpNumThreads = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(mlContext, stream, out inputSchema, scoringBatchSize, intraOpNumThreads, path);
    }

    /// <summary>Loads a saved pipeline as <see cref="Load(MLContext, string, out DataViewSchema, int, int?)"/> does, from <paramref name="stream"/>; <paramref name="source"/> names it in messages.</summary>
    public static ITransformer Load(MLContext mlContext, Stream stream, out DataViewSchema inputSchema, int scoringBatchSize = 64, int? intraOpNumThreads = null, string source = "stream")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(scoringBatchSize, 1);
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }

        long start = stream.Position;
        var models = SavedOnnxModels.Read(stream, source);
        stream.Position = start;
        var loaded = mlContext.Model.Load(stream, out inputSchema);
        var queue = new Queue<byte[]>(models);
        int replaced = 0;
        var result = Rebuild(loaded, queue, ref replaced, scoringBatchSize, intraOpNumThreads, source);
        if (queue.Count != 0)
            throw new InvalidDataException($"Model file '{source}': it holds {models.Count} ONNX models, but ML.NET loaded fewer ONNX transformers; this pipeline shape is not supported.");
        if (replaced == 0)
            throw new InvalidDataException($"Model file '{source}': no ONNX transformer in it runs a model quantized by MLNet.Quantization (none carries the '{FloatReferenceMetadata.Key}' metadata); load it with mlContext.Model.Load.");
        return result;
    }

    /// <summary>The transformer with each OnnxTransformer over one of our models, in saved order, replaced by ours.</summary>
    private static ITransformer Rebuild(ITransformer transformer, Queue<byte[]> models, ref int replaced, int batchSize, int? threads, string source)
    {
        switch (transformer)
        {
            case OnnxTransformer onnx:
                if (!models.TryDequeue(out var bytes))
                    throw new InvalidDataException($"Model file '{source}': ML.NET loaded more ONNX transformers than the file holds ONNX models; this pipeline shape is not supported.");
                var model = ParseModel(bytes, source);
                if (!model.MetadataProps.ContainsKey(FloatReferenceMetadata.Key))
                    return onnx;
                replaced++;
                return FromSaved(onnx, model, bytes, batchSize, threads);
            case TransformerChain<ITransformer> chain:
                var parts = new List<ITransformer>();
                foreach (var part in chain)
                    parts.Add(Rebuild(part, models, ref replaced, batchSize, threads, source));
                return new TransformerChain<ITransformer>([.. parts]);
            default:
                return transformer;
        }
    }

    private static OnnxModel ParseModel(byte[] bytes, string source)
    {
        try
        {
            return OnnxModel.Load(bytes, source);
        }
        catch (OnnxFormatException e)
        {
            throw new InvalidDataException($"Model file '{source}': an ONNX model in it is corrupt: {e.Message}", e);
        }
    }

    /// <summary>Our transformer over the model ML.NET's loaded <paramref name="onnx"/> runs (columns are named after the model's inputs and outputs).</summary>
    private static QuantizedModelTransformer FromSaved(OnnxTransformer onnx, OnnxModel model, byte[] scoring, int batchSize, int? threads)
    {
        var graph = OnnxGraph.FromModel(model);
        var inputs = graph.Inputs;
        bool dynamic = graph.Nodes.Any(n => n.OpType == "DynamicQuantizeLinear");
        var quantized = graph.Nodes.Where(n => n.OpType is not ("QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear")
                && n.Inputs.Any(i => graph.GetProducer(i) is { OpType: "DequantizeLinear" or "DynamicQuantizeLinear" }))
            .GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var report = new QuantizationReport(dynamic ? "dynamic" : "static", quantized, [], 0, scoring.Length, TimeSpan.Zero, 0);
        return new QuantizedModelTransformer(onnx, null, scoring, scoring, report, inputs, inputs.ToDictionary(i => i.Name, i => i.ElementType, StringComparer.Ordinal),
            dynamic ? 1 : batchSize, threads);
    }
}

/// <summary>
/// The ONNX models in a zip written by <c>mlContext.Model.Save</c>: every entry named <c>OnnxModel</c>, in entry-name
/// order (ML.NET's <c>Transform_000</c>, <c>Transform_001</c>... directories), read in memory with bounded sizes.
/// </summary>
internal static class SavedOnnxModels
{
    /// <summary>The largest ONNX entry read: protobuf's 2 GiB limit.</summary>
    public const long MaxEntryBytes = int.MaxValue;

    public static List<byte[]> Read(Stream stream, string source)
    {
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            var entries = zip.Entries.Where(e => e.FullName.Replace('\\', '/').Split('/')[^1] == "OnnxModel")
                .OrderBy(e => e.FullName, StringComparer.Ordinal).ToList();
            return entries.Select(e => Unwrap(ReadBounded(e, source), e.FullName, source)).ToList();
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("Model file", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Model file '{source}' is not a readable zip of an ML.NET model: {e.Message}", e);
        }
    }

    private static byte[] ReadBounded(ZipArchiveEntry entry, string source)
    {
        if (entry.Length > MaxEntryBytes)
            throw new InvalidDataException($"Model file '{source}': entry '{entry.FullName}' declares {entry.Length} bytes, over the {MaxEntryBytes} an ONNX model can hold.");
        using var input = entry.Open();
        var buffer = new MemoryStream((int)Math.Min(entry.Length, 1 << 26));
        var chunk = new byte[81920];
        int read;
        while ((read = input.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > entry.Length)
                throw new InvalidDataException($"Model file '{source}': entry '{entry.FullName}' holds more bytes than it declares.");
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>ML.NET writes the model as a byte array: an int32 length, then the bytes.</summary>
    private static byte[] Unwrap(byte[] entry, string name, string source)
    {
        if (entry.Length < 4 || BitConverter.ToInt32(entry, 0) != entry.Length - 4)
            throw new InvalidDataException($"Model file '{source}': entry '{name}' is not an ML.NET ONNX model entry (no matching length prefix).");
        return entry[4..];
    }
}
