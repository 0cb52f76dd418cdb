using System.Globalization;
using System.Text;
using Microsoft.ML;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// Rows per second through ML.NET <c>Transform</c> plus a cursor over the 10,000 Fashion-MNIST test rows with
/// fmnist_rowtf in dynamic mode, 32 rows per run: float <c>ApplyOnnxModel</c> (one ORT run per row) against
/// <see cref="QuantizedModelTransformer"/> with per-row and with per-batch activation ranges, alternating in one run.
/// <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- dynamic-scoring [--rounds 5] [--reps 3] [--threads N]</c>.
/// </summary>
internal static class DynamicScoringReport
{
    public static int Run(string[] args)
    {
        var md = new StringBuilder();
        int threads = ReportArgs.ReadInt(args, "--threads", 0);
        Append(md, ReportArgs.ReadInt(args, "--rounds", 5), ReportArgs.ReadInt(args, "--reps", 3), threads == 0 ? null : threads);
        Console.WriteLine(md.ToString());
        return 0;
    }

    /// <summary>Appends the table: medians of <paramref name="rounds"/> rounds, each the median of <paramref name="reps"/> alternating timings.</summary>
    public static void Append(StringBuilder md, int rounds, int reps, int? threads = null)
    {
        var c = CultureInfo.InvariantCulture;
        var ml = new MLContext(seed: 1);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false);
        var view = ml.Data.LoadFromEnumerable(MLNetScoringBenchmarks.Rows(test));
        string model = MLNetScoringBenchmarks.FindModel("fmnist_rowtf.onnx");
        var floatModel = ml.Transforms.ApplyOnnxModel(new Microsoft.ML.Transforms.Onnx.OnnxOptions { ModelFile = model, OutputColumns = ["logits"], InputColumns = ["input"], IntraOpNumThreads = threads ?? 0 }).Fit(view);
        using var singleRow = Fit(ml, model, DynamicRangeScope.SingleRow, view, threads);
        using var perRow = Fit(ml, model, DynamicRangeScope.PerRow, view, threads);
        using var perBatch = Fit(ml, model, DynamicRangeScope.PerBatch, view, threads);
        var sides = new Func<int>[]
        {
            () => MLNetScoringBenchmarks.Drain(floatModel.Transform(view)),
            () => MLNetScoringBenchmarks.Drain(singleRow.Transform(view)),
            () => MLNetScoringBenchmarks.Drain(perRow.Transform(view)),
            () => MLNetScoringBenchmarks.Drain(perBatch.Transform(view)),
        };
        var medians = new List<double[]>();
        for (int round = 0; round < rounds; round++)
        {
            Console.Error.WriteLine($"dynamic scoring: round {round + 1}/{rounds}");
            var times = sides.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < reps + 1; r++)
            {
                for (int s = 0; s < sides.Length; s++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    sides[s]();
                    if (r > 0)
                        times[s].Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
            }

            medians.Add(times.Select(Cli.Benchmarking.SideBySideBenchmark.Median).ToArray());
        }

        (floatModel as IDisposable)?.Dispose();
        md.AppendLine();
        md.AppendLine(string.Create(c, $"| ML.NET `Transform` + cursor, fmnist_rowtf dynamic, 10,000 rows, {perRow.ScoringBatchSize} rows per run for `PerRow` and `PerBatch`, intra-op threads {(threads is { } t ? t.ToString(c) : "ORT default")} | ms (rows/s) | vs `ApplyOnnxModel` float |"));
        md.AppendLine("| --- | ---: | ---: |");
        string[] labels = ["`ApplyOnnxModel` float (one row per run)", "`QuantizedModelTransformer`, `DynamicRangeScope.SingleRow` (default, one row per run)", "`QuantizedModelTransformer`, `DynamicRangeScope.PerRow`", "`QuantizedModelTransformer`, `DynamicRangeScope.PerBatch`"];
        for (int s = 0; s < labels.Length; s++)
        {
            double ms = Cli.Benchmarking.SideBySideBenchmark.Median(medians.Select(m => m[s]).ToList());
            var ratios = medians.Select(m => m[0] / m[s]).ToList();
            md.AppendLine(string.Create(c, $"| {labels[s]} | {ms:F0} ({10000 * 1000 / ms:F0}) | {Cli.Benchmarking.SideBySideBenchmark.Median(ratios):F2}× ({ratios.Min():F2}–{ratios.Max():F2}) |"));
        }
    }

    private static QuantizedModelTransformer Fit(MLContext ml, string model, DynamicRangeScope scope, IDataView view, int? threads) =>
        ml.Transforms.Quantize(new QuantizationOptions { ModelFile = model, Mode = QuantizationMode.Dynamic, DynamicRangeScope = scope, ScoringBatchSize = 32, IntraOpNumThreads = threads }).Fit(view);
}
