using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// Rows per second through <c>Transform</c> plus a cursor over the 10,000 Fashion-MNIST test rows with fmnist_cnn:
/// ML.NET's ApplyOnnxModel on the float model, ApplyOnnxModel on the QDQ model (both one ORT run per row), and
/// QuantizedModelTransformer (batched ORT runs); and the quantizer saved with <c>mlContext.Model.Save</c>, loaded back
/// by <c>mlContext.Model.Load</c> (ML.NET's OnnxTransformer, one row per run) and by
/// <see cref="QuantizedModelTransformer.Load(MLContext, Stream, out DataViewSchema, int, int?, string)"/> (batched again).
/// </summary>
[MemoryDiagnoser]
public class MLNetScoringBenchmarks
{
    private MLContext _ml = null!;
    private IDataView _test = null!;
    private ITransformer _float = null!;
    private ITransformer _qdq = null!;
    private QuantizedModelTransformer _quantized = null!;
    private ITransformer _reloadedByMlNet = null!;
    private ITransformer _reloadedByUs = null!;

    /// <summary>One row: the normalised image in the model input column.</summary>
    public sealed class Row
    {
        /// <summary>The model input.</summary>
        [VectorType(784)]
        public float[] input { get; set; } = [];
    }

    [GlobalSetup]
    public void Setup()
    {
        _ml = new MLContext(seed: 1);
        string model = FindModel("fmnist_cnn.onnx");
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false);
        var calib = FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: 512);
        _test = _ml.Data.LoadFromEnumerable(Rows(test));
        var calibration = _ml.Data.LoadFromEnumerable(Rows(calib));
        _float = _ml.Transforms.ApplyOnnxModel(model).Fit(_test);
        _quantized = _ml.Transforms.Quantize(model).Fit(calibration);
        var qdq = new MemoryStream();
        _quantized.ExportOnnx(qdq);
        qdq.Position = 0;
        _qdq = _ml.Transforms.ApplyOnnxModel(qdq).Fit(_test);
        var saved = new MemoryStream();
        _ml.Model.Save(_quantized, _test.Schema, saved);
        saved.Position = 0;
        _reloadedByMlNet = _ml.Model.Load(saved, out _);
        saved.Position = 0;
        _reloadedByUs = QuantizedModelTransformer.Load(_ml, saved, out _);
    }

    [GlobalCleanup]
    public void Cleanup() => _quantized.Dispose();

    [Benchmark(Baseline = true, Description = "ApplyOnnxModel float")]
    public int OnnxTransformerFloat() => Drain(_float.Transform(_test));

    [Benchmark(Description = "ApplyOnnxModel QDQ")]
    public int OnnxTransformerQdq() => Drain(_qdq.Transform(_test));

    [Benchmark(Description = "QuantizedModelTransformer")]
    public int QuantizedTransformer() => Drain(_quantized.Transform(_test));

    [Benchmark(Description = "saved, mlContext.Model.Load")]
    public int ReloadedByMlNet() => Drain(_reloadedByMlNet.Transform(_test));

    [Benchmark(Description = "saved, QuantizedModelTransformer.Load")]
    public int ReloadedByQuantizedModelTransformer() => Drain(_reloadedByUs.Transform(_test));

    internal static int Drain(IDataView view)
    {
        var column = view.Schema["logits"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        int rows = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows++;
        }

        return rows;
    }

    internal static List<Row> Rows(FashionMnist data) =>
        Enumerable.Range(0, data.Count).Select(i => new Row { input = data.Image(i).ToArray() }).ToList();

    internal static string FindModel(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "TestData", "models", name);
            if (File.Exists(candidate))
                return candidate;
        }

        throw new FileNotFoundException($"'{name}' not found under tests/TestData/models above {AppContext.BaseDirectory}.");
    }
}
