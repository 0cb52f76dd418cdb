using Google.Protobuf;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// A quantized Conv whose output feeds a quantized Conv and a float op (as a hard-swish's Add and Mul read the conv
/// output in MobileNetV3 blocks): the float reader gets a DequantizeLinear of the same QuantizeLinear, so ONNX Runtime
/// fuses the first Conv too, and the report counts what ORT runs.
/// </summary>
[TestClass]
public sealed class FloatConsumerFusionTests
{
    private const int Channels = 8, Size = 6;

    /// <summary>X → Conv a → (Conv b → Tanh → Y1, Tanh → Y2).</summary>
    private static OnnxModel ConvFeedingQuantizedAndFloat()
    {
        var random = new Random(7);
        float[] Weights() => Enumerable.Range(0, Channels * Channels * 9).Select(_ => (float)(random.NextDouble() - 0.5) * 0.3f).ToArray();
        var graph = new GraphProto { Name = "conv_float_reader" };
        graph.Input.Add(TinyModels.FloatInfo("X", 1, Channels, Size, Size));
        graph.Output.Add(TinyModels.FloatInfo("Y1", 1, Channels, Size, Size));
        graph.Output.Add(TinyModels.FloatInfo("Y2", 1, Channels, Size, Size));
        graph.Initializer.Add(TinyModels.FloatTensor("Wa", [Channels, Channels, 3, 3], Weights()));
        graph.Initializer.Add(TinyModels.FloatTensor("Wb", [Channels, Channels, 3, 3], Weights()));
        graph.Node.Add(Conv("a", "X", "Wa", "A"));
        graph.Node.Add(Conv("b", "A", "Wb", "B"));
        graph.Node.Add(Tanh("t1", "B", "Y1"));
        graph.Node.Add(Tanh("t2", "A", "Y2"));
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return OnnxModel.Load(model.ToByteArray());
    }

    private static NodeProto Tanh(string name, string input, string output)
    {
        var node = new NodeProto { Name = name, OpType = "Tanh" };
        node.Input.Add(input);
        node.Output.Add(output);
        return node;
    }

    private static NodeProto Conv(string name, string input, string weight, string output)
    {
        var node = new NodeProto { Name = name, OpType = "Conv" };
        node.Input.Add(input);
        node.Input.Add(weight);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        return node;
    }

    [TestMethod]
    public void TheFloatReaderGetsADequantizeOfTheSameQuantizeAndBothConvsFuse()
    {
        var random = new Random(3);
        var batch = NamedTensor.FromFloats("X", Enumerable.Range(0, 16 * Channels * Size * Size).Select(_ => (float)random.NextDouble()).ToArray(), 16, Channels, Size, Size);
        var prepared = QuantizationFlow.Prepare(ConvFeedingQuantizedAndFloat(), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        prepared.Calibrate([[batch]]);
        var quantized = prepared.Convert();

        var graph = OnnxGraph.FromModel(quantized.Model);
        var tanhInput = graph.GetProducer(graph.Nodes.Single(n => n.Name == "t2").Inputs[0]);
        var convInput = graph.GetProducer(graph.Nodes.Single(n => n.Name == "b").Inputs[0]);
        Assert.AreEqual("DequantizeLinear", tanhInput!.OpType);
        Assert.AreEqual("DequantizeLinear", convInput!.OpType);
        Assert.AreEqual(graph.GetProducer(tanhInput.Inputs[0]), graph.GetProducer(convInput.Inputs[0]), "one QuantizeLinear feeds both readers");
        Assert.AreEqual(1, graph.GetConsumers("A").Count, "the conv output is read by its QuantizeLinear only");

        var census = FusedGraphInspector.Int8Census(quantized.Model.ToBytes());
        Assert.AreEqual(2, census.Int8Kernels.GetValueOrDefault("QLinearConv"), census.ToString());
        Assert.IsEmpty(census.UnfusedCompute);
        CollectionAssert.AreEquivalent(census.Int8Kernels.ToList(), quantized.Report.OrtInt8!.Int8Kernels.ToList());
        StringAssert.Contains(quantized.Report.ToString(), "ONNX Runtime int8 kernels: QLinearConv 2");
    }

    [TestMethod]
    public void QuantizedComputeOrtRunsInFloatIsCountedAndWarned()
    {
        // without the completion for ORT, Conv a's output is read raw by t2 and Conv b's output is not quantized at all,
        // so ORT fuses neither and runs both in float on dequantized weights
        var random = new Random(3);
        var batch = NamedTensor.FromFloats("X", Enumerable.Range(0, 16 * Channels * Size * Size).Select(_ => (float)random.NextDouble()).ToArray(), 16, Channels, Size, Size);
        var prepared = QuantizationFlow.Prepare(ConvFeedingQuantizedAndFloat(), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()),
            new PrepareOptions { CompleteForOrtFusion = false });
        prepared.Calibrate([[batch]]);
        var report = prepared.Convert().Report;

        Assert.AreEqual(2, report.QuantizedNodesByOpType["Conv"]);
        Assert.AreEqual(0, report.OrtInt8!.Int8Kernels.GetValueOrDefault("QLinearConv"), report.OrtInt8.ToString());
        Assert.HasCount(2, report.OrtInt8.UnfusedCompute);
        Assert.IsTrue(report.OrtInt8.UnfusedCompute.Any(u => u.Contains("'a'", StringComparison.Ordinal)), report.OrtInt8.ToString());
        Assert.IsTrue(report.Warnings.Any(w => w.Contains("in float on dequantized inputs", StringComparison.Ordinal) && w.Contains("'a'", StringComparison.Ordinal)),
            string.Join("\n", report.Warnings));
    }
}
