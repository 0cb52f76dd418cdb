using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Tests.Onnx;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Models with external data run from another working directory, where a same-named canary file waits: every ORT
/// session must see the model folder's bytes, never the canary's (ORT handed bytes resolves locations against the CWD).
/// </summary>
[TestClass]
public sealed class ExternalDataWorkingDirectoryTests
{
    private static T InOtherDirectory<T>(string canaryName, Func<T> work)
    {
        using var cwd = new TempDirectory();
        File.WriteAllBytes(cwd.File(canaryName), OnnxTestData.FloatBytes(Enumerable.Repeat(100f, 12).ToArray()));
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(cwd.Path);
        try
        {
            return work();
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }

    [TestMethod]
    public void ConstantFolding_ReadsAConstantsExternalAttributeFromTheModelFolder()
    {
        // Constant(value = c.bin: 1, 2, 3) → Neg → Add(X, ·): folding runs Neg in ORT on the Constant's external tensor.
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("c.bin"), OnnxTestData.FloatBytes(1f, 2f, 3f));
        var graph = new GraphProto { Name = "const" };
        graph.Input.Add(OnnxTestData.FloatValue("X", 1, 3));
        var value = OnnxTestData.External(new TensorProto { Name = "cv", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3 } }, "c.bin", 0, 12);
        var constant = OnnxTestData.Node("Constant", "const", [], ["c"]);
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        graph.Node.Add(constant);
        graph.Node.Add(OnnxTestData.Node("Neg", "neg", ["c"], ["n"]));
        graph.Node.Add(OnnxTestData.Node("Add", "add", ["X", "n"], ["Y"]));
        graph.Output.Add(OnnxTestData.FloatValue("Y", 1, 3));
        File.WriteAllBytes(dir.File("m.onnx"), OnnxTestData.Model(graph).ToByteArray());

        var folded = InOtherDirectory("c.bin", () =>
        {
            var g = OnnxGraph.Load(dir.File("m.onnx"));
            Assert.IsGreaterThan(0, ConstantFoldingPass.Run(g));
            var add = g.Nodes.Single(n => n.OpType == "Add");
            return g.Initializers[add.Inputs[1]].RawBytes().ToArray();
        });
        CollectionAssert.AreEqual(OnnxTestData.FloatBytes(-1f, -2f, -3f), folded);
    }

    [TestMethod]
    public void InstrumentedSession_ReadsExternalInitializersFromTheModelFolder()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("w.bin"), OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight));
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "w.bin", 0, 48);
        File.WriteAllBytes(dir.File("m.onnx"), proto.ToByteArray());

        var z = InOtherDirectory("w.bin", () =>
        {
            using var session = InstrumentedSession.Create(OnnxGraph.Load(dir.File("m.onnx")), [], GraphOptimizationLevel.ORT_DISABLE_ALL);
            using var x = OrtValue.CreateTensorValueFromMemory(new[] { 1f, 2f, 3f, 4f }, new long[] { 1, 4 });
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, ["X"], [x], ["Z"]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        });

        // Z = X·W + B = (5, 9, 4), worked out in OnnxTestData.MatMulModel; the canary's W would give (1001, 1002, 1003).
        CollectionAssert.AreEqual(new[] { 5f, 9f, 4f }, z);
    }
}
