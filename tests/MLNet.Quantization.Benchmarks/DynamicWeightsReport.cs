using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Samples;

namespace MLNet.Quantization.Benchmarks;

/// <summary>
/// The exported dynamic model of fmnist_rowtf with three weight forms, run by ORT as exported (one row per run):
/// int8 weights (the writer's), uint8 weights with zero point 128 (same codes; ORT's uint8 × uint8 kernel), and 7-bit
/// weights [-64, 63] (ORT's <c>reduce_range</c>). Output SQNR and top-1 against float on the Fashion-MNIST test rows,
/// the kernels ORT fuses, and µs per row at batch 1 and 32 on one thread.
/// <c>dotnet run -c Release --project tests/MLNet.Quantization.Benchmarks -- dynamic-weights [--rows 2000]</c>.
/// </summary>
internal static class DynamicWeightsReport
{
    public static int Run(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        int rows = ReportArgs.ReadInt(args, "--rows", 2000);
        var ml = new MLContext(seed: 1);
        var test = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false, maxCount: rows);
        var view = ml.Data.LoadFromEnumerable(MLNetScoringBenchmarks.Rows(test));
        string model = MLNetScoringBenchmarks.FindModel("fmnist_rowtf.onnx");
        var int8 = Export(ml, view, new QuantizationOptions { ModelFile = model, Mode = QuantizationMode.Dynamic });
        var weight = X86Quantizer.GetDefaultConfig(isDynamic: true);
        var sevenBit = weight with { Weight = weight.Weight! with { QuantMin = -64, QuantMax = 63 } };
        var reduced = Export(ml, view, new QuantizationOptions { ModelFile = model, Mode = QuantizationMode.Dynamic, Quantizer = new X86Quantizer().SetGlobal(sevenBit) });
        var variants = new (string Name, byte[] Model)[] { ("int8 weights (writer)", int8), ("uint8 weights, zero point 128", Uint8Weights(int8)), ("7-bit weights [-64, 63]", reduced) };
        var pixels = Enumerable.Range(0, test.Count).SelectMany(r => test.Image(r).ToArray()).ToArray();
        Console.WriteLine($"u8s8 exact on this CPU: {Runtime.OrtU8S8Probe.IsExact}");
        using var reference = Session(File.ReadAllBytes(model), null);
        var expected = Outputs(reference, pixels, test.Count);
        var labels = test.Labels;
        Console.WriteLine(string.Create(c, $"float: top-1 {Runtime.ModelRunner.TopOneAgreement(expected, labels):F4}"));
        foreach (var (name, bytes) in variants)
        {
            string optimized = Path.Combine(Path.GetTempPath(), $"dynweights-{Guid.NewGuid():N}.onnx");
            using var session = Session(bytes, optimized);
            var actual = Outputs(session, pixels, test.Count);
            var ops = OnnxModel.Load(optimized).Proto.Graph.Node.GroupBy(n => n.OpType).Where(g => g.Key is "DynamicQuantizeMatMul" or "MatMulIntegerToFloat" or "MatMulInteger" or "MatMul" or "DynamicQuantizeLinear")
                .Select(g => $"{g.Key} {g.Count()}");
            File.Delete(optimized);
            Console.WriteLine(string.Create(c, $"{name}: output SQNR {Sqnr(expected, actual):F2} dB, top-1 {Runtime.ModelRunner.TopOneAgreement(actual, labels):F4}; fused: {string.Join(", ", ops)}"));
        }

        var sessions = variants.Select(v => Session(v.Model, null)).Prepend(Session(File.ReadAllBytes(model), null)).ToArray();
        string[] names = ["float", .. variants.Select(v => v.Name)];
        foreach (int batch in new[] { 1, 32 })
        {
            var times = sessions.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < 6; round++)
            {
                for (int s = 0; s < sessions.Length; s++)
                {
                    double us = DynamicScoringProfile.TimeRuns(sessions[s], pixels, Math.Min(test.Count, 1024), batch);
                    if (round > 0)
                        times[s].Add(us);
                }
            }

            double baseline = Cli.Benchmarking.SideBySideBenchmark.Median(times[0]);
            for (int s = 0; s < sessions.Length; s++)
            {
                double us = Cli.Benchmarking.SideBySideBenchmark.Median(times[s]);
                Console.WriteLine(string.Create(c, $"batch {batch,2}: {names[s],-32} {us,7:F1} µs/row, {baseline / us:F2}× float"));
            }
        }

        foreach (var s in sessions)
            s.Dispose();
        return 0;
    }

    private static byte[] Export(MLContext ml, IDataView view, QuantizationOptions options)
    {
        using var quantized = ml.Transforms.Quantize(options).Fit(view);
        var stream = new MemoryStream();
        quantized.ExportOnnx(stream);
        return stream.ToArray();
    }

    /// <summary>The same model with every int8 linear weight stored as uint8 (w + 128) with zero point 128.</summary>
    private static byte[] Uint8Weights(byte[] model)
    {
        var graph = OnnxGraph.FromModel(OnnxModel.Load(model));
        foreach (var node in graph.Nodes.ToList())
        {
            (int weight, int scale, int zeroPoint) = node.OpType switch
            {
                "DynamicQuantizeMatMul" => (1, 2, 3),
                "DequantizeLinear" when graph.GetConsumers(node.Outputs[0]).Any(u => u.Node.OpType == "MatMul") => (0, 1, 2),
                _ => (-1, -1, -1),
            };
            if (weight < 0 || !graph.TryGetConstant(node.Inputs[weight], out var w) || w.ElementType != TensorElementType.Int8 || !graph.TryGetConstant(node.Inputs[scale], out var s))
                continue;
            var shifted = w.ToArray<sbyte>().Select(v => (byte)(v + 128)).ToArray();
            graph.ReplaceInitializer(TensorData.FromUInt8(node.Inputs[weight], w.Dims.ToArray(), shifted));
            string zp = graph.AddInitializer(TensorData.FromUInt8(graph.UniqueName(node.Name + "_zp128"), s.Dims.ToArray(), Enumerable.Repeat((byte)128, (int)Math.Max(1, s.Dims.Aggregate(1L, (a, b) => a * b))).ToArray()));
            while (node.Proto.Input.Count <= zeroPoint)
                node.Proto.Input.Add("");
            graph.ReplaceInput(node, zeroPoint, zp);
        }

        graph.RemoveUnusedInitializers();
        return graph.ToModel().ToBytes();
    }

    private static InferenceSession Session(byte[] model, string? optimizedPath)
    {
        using var options = Runtime.OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL, 1);
        if (optimizedPath is not null)
            options.OptimizedModelFilePath = optimizedPath;
        return new InferenceSession(model, options);
    }

    /// <summary>Outputs one row per run, as the exported model scores in <c>DynamicRangeScope.SingleRow</c>.</summary>
    private static float[] Outputs(InferenceSession session, float[] pixels, int rows)
    {
        var result = new List<float>();
        using var runOptions = new RunOptions();
        for (int r = 0; r < rows; r++)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(r * 784, 784), [1, 1, 28, 28]);
            using var outputs = session.Run(runOptions, ["input"], [value], ["logits"]);
            result.AddRange(outputs[0].GetTensorDataAsSpan<float>().ToArray());
        }

        return result.ToArray();
    }

    private static double Sqnr(float[] reference, float[] actual)
    {
        double signal = 0, noise = 0;
        for (int j = 0; j < reference.Length; j++)
        {
            signal += (double)reference[j] * reference[j];
            noise += ((double)reference[j] - actual[j]) * ((double)reference[j] - actual[j]);
        }

        return 10 * Math.Log10(signal / noise);
    }
}
