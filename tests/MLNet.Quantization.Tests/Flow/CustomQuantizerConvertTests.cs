using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Tests.Quantizers;

namespace MLNet.Quantization.Tests.Flow;

[TestClass]
public sealed class CustomQuantizerConvertTests
{
    [TestMethod]
    public void AddInputsShareOneScaleAndSigmoidGetsExactlyOneOver256()
    {
        var source = new TestGraphBuilder()
            .Input("a", 2, 3).Input("b", 2, 3).Output("y", 2, 3)
            .Node("Add", "add", ["a", "b"], ["s"])
            .Node("Sigmoid", "sig", ["s"], ["t"])
            .Node("Neg", "neg", ["t"], ["y"])
            .Build();
        var prepared = QuantizationFlow.Prepare(source.ToModel(), new AddSigmoidQuantizer());
        Assert.AreEqual(2, prepared.ObservedActivations.Count(t => t is "a" or "b"), "a and b are observed");
        prepared.Calibrate([
            [NamedTensor.FromFloats("a", [-1f, 0f, 1f, 2f, 3f, 0.5f], 2, 3), NamedTensor.FromFloats("b", [4f, -2f, 0f, 1f, 1f, 1f], 2, 3)],
        ]);
        var graph = OnnxGraph.FromModel(prepared.Convert().Model);

        float ScaleOf(OnnxNode q) => graph.Initializers[q.Inputs[1]].ToFloatArray()[0];
        var qa = graph.Nodes.Single(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "a");
        var qb = graph.Nodes.Single(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "b");
        Assert.AreEqual(qa.Inputs[1], qb.Inputs[1], "both Add inputs use the same scale initializer");
        // shared observer saw a ∪ b = [−2, 4]: scale = 6/255, zp = round(2 / (6/255)) = round(85) = 85
        Assert.AreEqual(6f / 255f, ScaleOf(qa));
        Assert.AreEqual((byte)85, graph.Initializers[qa.Inputs[2]].ToArray<byte>()[0]);

        var qt = graph.Nodes.Single(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == "t");
        Assert.AreEqual(0.00390625f, ScaleOf(qt), "Sigmoid output uses the fixed 1/256");
        Assert.AreEqual((byte)0, graph.Initializers[qt.Inputs[2]].ToArray<byte>()[0]);

        // the QDQ model runs in ONNX Runtime and stays close to the float result
        using var session = new InferenceSession(graph.ToModel().ToBytes());
        var a = new DenseTensor<float>(new[] { -1f, 0f, 1f, 2f, 3f, 0.5f }, [2, 3]);
        var b = new DenseTensor<float>(new[] { 4f, -2f, 0f, 1f, 1f, 1f }, [2, 3]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("a", a), NamedOnnxValue.CreateFromTensor("b", b)]);
        var y = results.Single().AsTensor<float>().ToArray();
        for (int i = 0; i < 6; i++)
        {
            float expected = -1f / (1f + MathF.Exp(-(a.GetValue(i) + b.GetValue(i))));
            Assert.AreEqual(expected, y[i], 0.02f);
        }
    }
}
