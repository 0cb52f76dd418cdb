using System.Diagnostics;
using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class MalformedModelTests
{
    private static byte[] Tiny(Action<ModelProto> mutate)
    {
        var m = TinyModels.MatMul([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        mutate(m);
        return m.ToByteArray();
    }

    private static OnnxFormatException Fails(byte[] bytes, string expectedText)
    {
        var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(bytes, "bad.onnx"));
        StringAssert.StartsWith(e.Message, "bad.onnx: ");
        StringAssert.Contains(e.Message, expectedText);
        return e;
    }

    [TestMethod]
    public void EmptyInput() => Fails([], "is empty");

    [TestMethod]
    public void MissingGraph() => Fails(Tiny(m => m.Graph = null), "has no graph");

    [TestMethod]
    public void MissingOpsetImport() => Fails(Tiny(m => m.OpsetImport.Clear()), "no opset import");

    [TestMethod]
    public void DanglingNodeInputIsNamed() =>
        Fails(Tiny(m => m.Graph.Node[0].Input[1] = "W_missing"), "reads tensor 'W_missing'");

    [TestMethod]
    public void DuplicateProducer() =>
        Fails(Tiny(m => m.Graph.Node.Add(new NodeProto { Name = "dup", OpType = "Relu", Input = { "X" }, Output = { "Y" } })), "tensor 'Y' is produced twice");

    [TestMethod]
    public void RawDataShorterThanDims() =>
        Fails(Tiny(m => m.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[20])), "has 20 bytes of raw_data but dims [2, 3] need 24");

    [TestMethod]
    public void TypedDataCountMismatch() => Fails(Tiny(m =>
    {
        var w = m.Graph.Initializer[0];
        w.ClearRawData();
        w.FloatData.Add([1f, 2f, 3f, 4f, 5f]);
    }), "has 5 values in float_data but dims [2, 3] need 6");

    [TestMethod]
    public void UnknownDataType() => Fails(Tiny(m => m.Graph.Initializer[0].DataType = 99), "unknown data_type 99");

    [TestMethod]
    public void HugeDimsAreRejectedBeforeAllocation() => Fails(Tiny(m =>
    {
        var w = m.Graph.Initializer[0];
        w.Dims.Clear();
        w.Dims.Add([long.MaxValue / 2, 4]);
    }), "invalid dims");

    [TestMethod]
    public void GraphOutputNotProduced() => Fails(Tiny(m => m.Graph.Output[0].Name = "Z"), "graph output 'Z'");

    [TestMethod]
    public void GarbageBytes()
    {
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[rng.Next(1, 4096)];
            rng.NextBytes(bytes);
            AssertOnlyFormatErrors(bytes, $"garbage #{i}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(OnnxModelRoundTripTests.Models), typeof(OnnxModelRoundTripTests))]
    public void TruncationsAndBitFlipsGiveOnlyFormatErrors(string name)
    {
        byte[] original = File.ReadAllBytes(TestPaths.Model(name));
        var rng = new Random(name.Length * 31 + 1);
        for (int i = 0; i < 200; i++)
        {
            int cut = i == 0 ? 1 : rng.Next(1, original.Length);
            var truncated = original.AsSpan(0, cut).ToArray();
            AssertOnlyFormatErrors(truncated, $"{name} truncated at {cut}");
        }

        for (int i = 0; i < 100; i++)
        {
            var flipped = (byte[])original.Clone();
            for (int k = 0; k < 4; k++)
            {
                int at = rng.Next(0, Math.Min(flipped.Length, 4096)); // the graph structure lives before the big weights
                flipped[at] ^= (byte)(1 << rng.Next(8));
            }

            AssertOnlyFormatErrors(flipped, $"{name} bit flips #{i}");
        }
    }

    private static void AssertOnlyFormatErrors(byte[] bytes, string label)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            var model = OnnxModel.Load(bytes, label);
            Assert.IsNotNull(model.Proto.Graph, label);
        }
        catch (OnnxFormatException e)
        {
            StringAssert.StartsWith(e.Message, label, "the message names the source");
        }

        Assert.IsLessThan(5000L, watch.ElapsedMilliseconds, $"{label} took too long");
    }
}
