using Google.Protobuf;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class BiasCorrectionTests
{
    private const int Channels = 4, Outputs = 4, Groups = 2, Kernel = 2, Size = 3;

    // per input channel: the mean over calibration, and the half-spread of its two samples
    private static readonly float[] Means = [0.7f, -0.3f, 1.1f, 0.4f];
    private static readonly float[] Spread = [0.2f, 0.1f, 0.3f, 0.05f];

    /// <summary>Y = Conv(X, W, B), X [N, 4, 3, 3], W [4, 2, 2, 2] in 2 groups, no padding: every output sums a full window.</summary>
    private static (OnnxModel Model, float[] Weight, float[] Bias) GroupedConv()
    {
        var random = new Random(11);
        var weight = Enumerable.Range(0, Outputs * (Channels / Groups) * Kernel * Kernel).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] bias = [0.05f, -0.1f, 0.2f, 0f];
        var graph = new GraphProto { Name = "grouped_conv" };
        graph.Input.Add(TinyModels.FloatInfo("X", 2, Channels, Size, Size));
        graph.Output.Add(TinyModels.FloatInfo("Y", 2, Outputs, Size - Kernel + 1, Size - Kernel + 1));
        graph.Initializer.Add(TinyModels.FloatTensor("W", [Outputs, Channels / Groups, Kernel, Kernel], weight));
        graph.Initializer.Add(TinyModels.FloatTensor("B", [Outputs], bias));
        var conv = new NodeProto { Name = "conv", OpType = "Conv" };
        conv.Input.AddRange(["X", "W", "B"]);
        conv.Output.Add("Y");
        conv.Attribute.Add(new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = Groups });
        graph.Node.Add(conv);
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return (OnnxModel.Load(model.ToByteArray()), weight, bias);
    }

    /// <summary>Two samples per batch; each channel constant over the image, the samples at mean ∓ spread.</summary>
    private static NamedTensor Batch()
    {
        var x = new float[2 * Channels * Size * Size];
        for (int n = 0; n < 2; n++)
        {
            for (int c = 0; c < Channels; c++)
                Array.Fill(x, Means[c] + (n == 0 ? -Spread[c] : Spread[c]), (n * Channels + c) * Size * Size, Size * Size);
        }

        return NamedTensor.FromFloats("X", x, 2, Channels, Size, Size);
    }

    private static QuantizedModel Quantize(OnnxModel model, bool biasCorrection)
    {
        var prepared = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { BiasCorrection = biasCorrection });
        prepared.Calibrate([[Batch()], [Batch()]]);
        return prepared.Convert();
    }

    /// <summary>The dequantized value of the constant a DequantizeLinear gives <paramref name="node"/>'s input <paramref name="index"/>: values and scales.</summary>
    private static (float[] Values, float[] Scales) Dequantized(OnnxGraph graph, OnnxNode node, int index)
    {
        var dq = graph.GetProducer(node.Inputs[index])!;
        Assert.AreEqual("DequantizeLinear", dq.OpType);
        var quantized = graph.Initializers[dq.Inputs[0]];
        var q = quantized.ToFloatArray();
        var scales = graph.Initializers[dq.Inputs[1]].ToFloatArray();
        if (scales.Length == 1)
            return (q.Select(v => v * scales[0]).ToArray(), scales);
        int axis = (int)dq.GetInt("axis", 1);
        long inner = quantized.Shape.Skip(axis + 1).Aggregate(1L, (a, d) => a * d);
        return (q.Select((v, i) => v * scales[i / inner % scales.Length]).ToArray(), scales);
    }

    [TestMethod]
    public void TheCorrectedBiasCancelsTheWeightErrorOnTheMeanInput()
    {
        var (model, weight, bias) = GroupedConv();
        var corrected = Quantize(model, biasCorrection: true);
        var graph = OnnxGraph.FromModel(corrected.Model);
        var conv = graph.Nodes.Single(n => n.OpType == "Conv");
        var (w, _) = Dequantized(graph, conv, 1);
        var (b, biasScales) = Dequantized(graph, conv, 2);
        Assert.AreEqual(1, corrected.Report.BiasCorrectedLayers);

        int window = Kernel * Kernel, perGroup = Channels / Groups;
        double largestShift = 0;
        for (int o = 0; o < Outputs; o++)
        {
            // (Ŵ − W)·E[x] by the definition: the group's input channels, each weight tap times its channel's mean
            double term = 0, floatMean = bias[o], int8Mean = b[o];
            for (int j = 0; j < perGroup; j++)
            {
                int c = o / (Outputs / Groups) * perGroup + j;
                for (int k = 0; k < window; k++)
                {
                    int i = (o * perGroup + j) * window + k;
                    term += (w[i] - weight[i]) * (double)Means[c];
                    floatMean += weight[i] * (double)Means[c];
                    int8Mean += w[i] * (double)Means[c];
                }
            }

            largestShift = Math.Max(largestShift, Math.Abs(term));
            double rounding = biasScales[o] / 2 + 1e-6;
            Assert.AreEqual(bias[o] - term, b[o], rounding, $"channel {o}: b' = b − (Ŵ − W)·E[x]");
            Assert.AreEqual(floatMean, int8Mean, rounding, $"channel {o}: the int8-weight layer's mean output equals the float layer's");
        }

        Assert.IsGreaterThan(20 * biasScales.Max(), largestShift, "the weight error shifts the mean output by far more than the bias rounding");
    }

    [TestMethod]
    public void OnnxRuntimeRunsTheCorrectedModelCloserToFloatOnTheMeanInput()
    {
        var (model, _, _) = GroupedConv();
        var plain = Quantize(model, biasCorrection: false);
        var corrected = Quantize(model, biasCorrection: true);
        var x = new float[2 * Channels * Size * Size]; // the model's batch is 2: the mean input twice
        for (int c = 0; c < 2 * Channels; c++)
            Array.Fill(x, Means[c % Channels], c * Size * Size, Size * Size);

        float[] Run(OnnxModel m)
        {
            using var runner = new ModelRunner(m);
            return runner.Run(x, 2);
        }

        var reference = Run(model);
        double plainError = reference.Zip(Run(plain.Model)).Sum(p => Math.Abs(p.First - p.Second));
        double correctedError = reference.Zip(Run(corrected.Model)).Sum(p => Math.Abs(p.First - p.Second));
        Assert.IsNull(plain.Report.BiasCorrectedLayers);
        Assert.IsLessThan(plainError, correctedError, $"absolute error summed over the outputs: plain {plainError:G4}, corrected {correctedError:G4}");
        Assert.Contains("bias correction: 1 layers", corrected.Report.ToString());
        CollectionAssert.AreEquivalent(FusedGraphInspector.OptimizedOpTypes(plain.Model.ToBytes()).ToList(), FusedGraphInspector.OptimizedOpTypes(corrected.Model.ToBytes()).ToList(),
            "ONNX Runtime runs the same kernels with the corrected bias");
    }

    [TestMethod]
    public void AGemmWithoutBiasGetsAnInt32BiasOfMinusTheShift()
    {
        var random = new Random(5);
        const int k = 8, n = 3;
        var weight = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var graph = new GraphProto { Name = "gemm" };
        graph.Input.Add(TinyModels.FloatInfo("A", 4, k));
        graph.Output.Add(TinyModels.FloatInfo("Y", 4, n));
        graph.Initializer.Add(TinyModels.FloatTensor("B", [k, n], weight));
        var gemm = new NodeProto { Name = "gemm", OpType = "Gemm" };
        gemm.Input.AddRange(["A", "B"]);
        gemm.Output.Add("Y");
        graph.Node.Add(gemm);
        var proto = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var input = Enumerable.Range(0, 4 * k).Select(i => (float)((i * 37 % 11) / 10.0)).ToArray();
        var means = Enumerable.Range(0, k).Select(c => Enumerable.Range(0, 4).Average(r => (double)input[r * k + c])).ToArray();

        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(proto.ToByteArray()), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { BiasCorrection = true });
        prepared.Calibrate([[NamedTensor.FromFloats("A", input, 4, k)]]);
        var quantized = prepared.Convert();

        var q = OnnxGraph.FromModel(quantized.Model);
        var node = q.Nodes.Single(x => x.OpType == "Gemm");
        Assert.HasCount(3, node.Inputs, "the Gemm got a bias input");
        Assert.AreEqual(TensorElementType.Int32, q.Initializers[q.GetProducer(node.Inputs[2])!.Inputs[0]].ElementType);
        var (w, _) = Dequantized(q, node, 1);
        var (b, scales) = Dequantized(q, node, 2);
        for (int o = 0; o < n; o++)
        {
            double shift = Enumerable.Range(0, k).Sum(c => (w[c * n + o] - weight[c * n + o]) * means[c]);
            Assert.AreEqual(-shift, b[o], scales[o] / 2 + 1e-7, $"output {o}");
        }

        Assert.AreEqual(1, FusedGraphInspector.OptimizedOpTypes(quantized.Model.ToBytes()).GetValueOrDefault("com.microsoft:QGemm"), "ORT still fuses the Gemm");
    }

    [TestMethod]
    public void AStrideTwoConvTransposeSharesEachKernelTapOverFourOutputs()
    {
        // kernel 2, stride 2: output (2i + a, 2j + b) = Σ_c W[c, o, a, b]·x[c, i, j] + B[o], so the mean output is
        // Σ_c E[x_c]·ΣW[c, o]/4 + B[o] exactly, and the correction is (Ŵ − W)·E[x]/4. The X86 quantizer does not
        // quantize ConvTranspose, so the shift is checked directly, and ONNX Runtime runs the float layer with W and B
        // against the one with Ŵ and the corrected bias.
        var random = new Random(8);
        var weight = Enumerable.Range(0, Channels * Outputs * Kernel * Kernel).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] bias = [0.1f, 0f, -0.2f, 0.3f];
        int window = Kernel * Kernel;
        var scales = Enumerable.Range(0, Outputs).Select(o => Enumerable.Range(0, Channels * window)
            .Max(i => Math.Abs(weight[(i / window * Outputs + o) * window + i % window])) / 127.5f).ToArray();
        var qparams = new QParams(scales, new int[Outputs], QuantDataType.Int8, axis: 1, quantMin: -128, quantMax: 127);
        var dequantized = weight.Select((v, i) => Math.Clamp(MathF.Round(v / scales[i / window % Outputs], MidpointRounding.ToEven), -128, 127) * scales[i / window % Outputs]).ToArray();
        var node = new OnnxNode(new NodeProto { Name = "up", OpType = "ConvTranspose", Attribute = { new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } } } });

        double[] shift = BiasCorrection.OutputShift(node, weight, [Channels, Outputs, Kernel, Kernel], qparams, Means.Select(m => (double)m).ToArray());
        for (int o = 0; o < Outputs; o++)
        {
            double term = 0;
            for (int c = 0; c < Channels; c++)
            {
                for (int k = 0; k < window; k++)
                    term += (dequantized[(c * Outputs + o) * window + k] - weight[(c * Outputs + o) * window + k]) * (double)Means[c] / 4;
            }

            Assert.AreEqual(term, shift[o], 1e-9, $"channel {o}");
        }

        float[] Mean(float[] w, float[] b)
        {
            var graph = new GraphProto { Name = "conv_transpose" };
            graph.Input.Add(TinyModels.FloatInfo("X", 1, Channels, Size, Size));
            graph.Output.Add(TinyModels.FloatInfo("Y", 1, Outputs, 2 * Size, 2 * Size));
            graph.Initializer.Add(TinyModels.FloatTensor("W", [Channels, Outputs, Kernel, Kernel], w));
            graph.Initializer.Add(TinyModels.FloatTensor("B", [Outputs], b));
            var up = new NodeProto { Name = "up", OpType = "ConvTranspose", Input = { "X", "W", "B" }, Output = { "Y" } };
            up.Attribute.Add(new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
            graph.Node.Add(up);
            var proto = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
            var x = new float[Channels * Size * Size];
            for (int c = 0; c < Channels; c++)
                Array.Fill(x, Means[c], c * Size * Size, Size * Size);
            using var runner = new ModelRunner(proto.ToByteArray());
            var y = runner.Run(x, 1);
            int plane = 4 * Size * Size;
            return Enumerable.Range(0, Outputs).Select(o => y.Skip(o * plane).Take(plane).Average()).ToArray();
        }

        var floatMeans = Mean(weight, bias);
        var plainMeans = Mean(dequantized, bias);
        var correctedMeans = Mean(dequantized, bias.Select((b, o) => (float)(b - shift[o])).ToArray());
        for (int o = 0; o < Outputs; o++)
        {
            Assert.AreEqual(floatMeans[o], correctedMeans[o], 1e-5, $"channel {o}: the corrected layer's mean output equals float");
            Assert.AreNotEqual(floatMeans[o], plainMeans[o], 1e-5, $"channel {o}: uncorrected, the weight error shifts it");
        }
    }

    [TestMethod]
    public void AMatMulIsCorrectedThroughItsBiasAdd()
    {
        var random = new Random(6);
        const int k = 8, n = 3;
        var weight = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] bias = [0.5f, -0.25f, 0.125f];
        var graph = new GraphProto { Name = "linear" };
        graph.Input.Add(TinyModels.FloatInfo("A", 4, k));
        graph.Output.Add(TinyModels.FloatInfo("Y", 4, n));
        graph.Initializer.Add(TinyModels.FloatTensor("W", [k, n], weight));
        graph.Initializer.Add(TinyModels.FloatTensor("B", [n], bias));
        graph.Node.Add(new NodeProto { Name = "mm", OpType = "MatMul", Input = { "A", "W" }, Output = { "H" } });
        graph.Node.Add(new NodeProto { Name = "add", OpType = "Add", Input = { "H", "B" }, Output = { "Y" } });
        var proto = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var input = Enumerable.Range(0, 4 * k).Select(i => (float)((i * 29 % 13) / 7.0 - 0.5)).ToArray();
        var means = Enumerable.Range(0, k).Select(c => Enumerable.Range(0, 4).Average(r => (double)input[r * k + c])).ToArray();

        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(proto.ToByteArray()), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { BiasCorrection = true });
        prepared.Calibrate([[NamedTensor.FromFloats("A", input, 4, k)]]);
        var quantized = prepared.Convert();

        var q = OnnxGraph.FromModel(quantized.Model);
        var (w, _) = Dequantized(q, q.Nodes.Single(x => x.OpType == "MatMul"), 1);
        var add = q.Nodes.Single(x => x.OpType == "Add");
        var b = q.Initializers[add.Inputs[1]].ToFloatArray();
        Assert.AreEqual(1, quantized.Report.BiasCorrectedLayers);
        for (int o = 0; o < n; o++)
        {
            double shift = Enumerable.Range(0, k).Sum(c => (w[c * n + o] - weight[c * n + o]) * means[c]);
            Assert.AreEqual(bias[o] - shift, b[o], 1e-6, $"output {o}");
        }
    }

    [TestMethod]
    public void StatisticsLoadedFromAFileCorrectNothingAndSaySo()
    {
        var (model, _, _) = GroupedConv();
        var options = new PrepareOptions { BiasCorrection = true };
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig());
        var source = QuantizationFlow.Prepare(model, quantizer, options);
        source.Calibrate([[Batch()]]);
        using var stream = new MemoryStream();
        source.SaveStatistics(stream);
        stream.Position = 0;

        var target = QuantizationFlow.Prepare(model, new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), options);
        target.LoadStatistics(stream);
        var report = target.Convert().Report;
        Assert.AreEqual(0, report.BiasCorrectedLayers);
        Assert.IsTrue(report.Warnings.Any(w => w.Contains("bias correction corrected none of 1 layers", StringComparison.Ordinal)), string.Join("\n", report.Warnings));
    }

    [TestMethod]
    [DataRow("fmnist_cnn", 0.003)]
    [DataRow("fmnist_mobile", 0.008)]
    public void TheFashionMnistModelsKeepTheirAccuracyWithBiasCorrection(string model, double maxDrop)
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model(model)), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()), new PrepareOptions { BiasCorrection = true });
        prepared.Calibrate(FlowFixture.CalibrationBatches());
        var corrected = prepared.Convert();
        using var plainRunner = new ModelRunner(FlowFixture.Quantized(model, dynamic: false).Model);
        using var correctedRunner = new ModelRunner(corrected.Model);
        double fp32 = TestData.Fp32Accuracy(model);
        double plain = plainRunner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        double accuracy = correctedRunner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        Console.WriteLine($"{model}: fp32 {fp32:F4} int8 {plain:F4} int8 bias-corrected {accuracy:F4} ({corrected.Report.BiasCorrectedLayers} layers); " +
            $"output SQNR {FlowFixture.Quantized(model, dynamic: false).Report.OutputSqnrDb:F2} → {corrected.Report.OutputSqnrDb:F2} dB");
        Assert.IsGreaterThan(0, corrected.Report.BiasCorrectedLayers!.Value);
        Assert.IsGreaterThanOrEqualTo(fp32 - maxDrop, accuracy, $"{model}: fp32 {fp32:F4}, bias-corrected int8 {accuracy:F4}");
    }

    [TestMethod]
    public void ChannelMeansMergeAsIfObservedTogether()
    {
        float[] a = [1, 2, 3, 4, 5, 6], b = [10, 20, 30, 40, float.NaN, 60];
        var together = new ChannelMeans(3, -1);
        together.Observe(a, [2, 3]);
        together.Observe(b, [2, 3]);
        var apart = new ChannelMeans(3, -1);
        var other = apart.CreateEmpty();
        apart.Observe(a, [2, 3]);
        other.Observe(b, [2, 3]);
        apart.Merge(other);
        CollectionAssert.AreEqual(together.Means(), apart.Means());
        CollectionAssert.AreEqual(new[] { (1 + 4 + 10 + 40) / 4.0, (2 + 5 + 20) / 3.0, (3 + 6 + 30 + 60) / 4.0 }, apart.Means());
    }
}
