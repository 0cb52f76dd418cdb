using BenchmarkDotNet.Attributes;
using MLNet.Quantization.Cli.Benchmarking;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// ORT fp32 against our QDQ int8, per model and batch size, on inputs bound once (ORT defaults for both sessions).
/// The <c>report</c> command measures the same pairs alternating in one run; this suite gives BenchmarkDotNet's
/// statistics for each side.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes both sessions.")]
public class InferenceBenchmarks
{
    private BoundSession _float = null!;
    private BoundSession _int8 = null!;

    /// <summary>The model, and <c>-dynamic</c> for dynamic quantization.</summary>
    [Params("fmnist_cnn", "fmnist_mobile", "fmnist_rowtf", "fmnist_rowtf-dynamic")]
    public string Case { get; set; } = "fmnist_cnn";

    /// <summary>Samples per run.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        bool dynamic = Case.EndsWith("-dynamic", StringComparison.Ordinal);
        var model = OnnxModel.Load(MLNetScoringBenchmarks.FindModel(Case.Replace("-dynamic", "", StringComparison.Ordinal) + ".onnx"));
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: dynamic)));
        if (!dynamic)
            prepared.Calibrate(FashionMnist.Load(FashionMnist.DefaultDirectory, train: true, maxCount: 512).Batches("input", 64));
        _float = new BoundSession(model.ToBytes(), Batch, SessionSettings.Default);
        _int8 = new BoundSession(prepared.Convert().Model.ToBytes(), Batch, SessionSettings.Default);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _float.Dispose();
        _int8.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ORT fp32")]
    public void Float() => _float.Run();

    [Benchmark(Description = "QDQ int8")]
    public void Int8() => _int8.Run();
}
