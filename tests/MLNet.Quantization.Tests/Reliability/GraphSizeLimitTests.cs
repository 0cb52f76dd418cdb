using System.Diagnostics;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Huge graphs are bounded before ONNX Runtime sees them: <see cref="PrepareOptions.MaxNodeCount"/> counts the main
/// graph, subgraphs and functions, the count is taken by an iterative walk (no stack overflow on any shape), and
/// protobuf's recursion limit turns deeply nested subgraphs into an <see cref="OnnxFormatException"/>.
/// </summary>
[TestClass]
public sealed class GraphSizeLimitTests
{
    private static readonly X86Quantizer Dynamic = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true));

    private static OnnxModel Chain(int nodes, string opType = "Relu")
    {
        using var bytes = new MemoryStream();
        OnnxWire.WriteChain(bytes, nodes, opType);
        return OnnxModel.Load(bytes.ToArray(), "chain.onnx");
    }

    [TestMethod]
    public void AChainOneNodeOverTheLimitIsRefusedNamingTheCountAndTheOption()
    {
        var model = Chain(1_001);
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => QuantizationFlow.Prepare(model, Dynamic, new PrepareOptions { MaxNodeCount = 1_000 }));
        StringAssert.Contains(e.Message, "1,001 nodes");
        StringAssert.Contains(e.Message, "limit of 1,000");
        StringAssert.Contains(e.Message, "--max-nodes");
        StringAssert.Contains(e.Message, "PrepareOptions.MaxNodeCount");
        StringAssert.Contains(e.Message, "chain.onnx");
    }

    [TestMethod]
    public void AChainAtTheLimitPreparesAndConverts()
    {
        var model = Chain(1_000);
        var prepared = QuantizationFlow.Prepare(model, Dynamic, new PrepareOptions { MaxNodeCount = 1_000 });
        Assert.AreEqual(1_000, prepared.Graph.Nodes.Count);
        Assert.AreEqual(1_000, prepared.Convert().Model.Proto.Graph.Node.Count);
    }

    [TestMethod]
    public void TheDefaultLimitIs200kAndTheOptionRejectsNonPositiveValues()
    {
        Assert.AreEqual(200_000, new PrepareOptions().MaxNodeCount);
        Assert.AreEqual(200_000, new QuantizationOptions().MaxNodeCount);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PrepareOptions { MaxNodeCount = 0 });
    }

    [TestMethod]
    public void NodesInsideSubgraphsCount()
    {
        // one If in the main graph; its two branches hold 600 nodes each
        var model = ModelProto.Parser.ParseFrom(OnnxWire.NestedIfs(1));
        var ifNode = model.Graph.Node.Single();
        foreach (var branch in ifNode.Attribute.Select(a => a.G))
        {
            var last = branch.Node[^1];
            for (int i = 0; i < 599; i++)
            {
                var extra = new NodeProto { OpType = "Identity", Name = $"{branch.Name}_pad{i}" };
                extra.Input.Add(last.Output[0]);
                extra.Output.Add($"{branch.Name}_p{i}");
                branch.Node.Add(extra);
                last = extra;
            }

            branch.Output[0].Name = last.Output[0];
        }

        Assert.AreEqual(1 + 600 + 600, ModelCensus.Of(model).NodeCount);
        Assert.AreEqual(1, ModelCensus.Of(model).MaxSubgraphDepth);
        var loaded = new OnnxModel(model, "nested.onnx", null);
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => QuantizationFlow.Prepare(loaded, Dynamic, new PrepareOptions { MaxNodeCount = 1_000 }));
        StringAssert.Contains(e.Message, "1,201 nodes");
    }

    [TestMethod]
    public void IfsNestedTenThousandDeepAreAFormatErrorNotAStackOverflow()
    {
        var bytes = OnnxWire.NestedIfs(10_000);
        var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(bytes, "deep.onnx"));
        StringAssert.Contains(e.Message, "deep.onnx");
        StringAssert.Contains(e.Message, "nesting");
    }

    [TestMethod]
    public void IfsNestedJustUnderProtobufsLimitLoadAndAreCountedIteratively()
    {
        // protobuf's 100 message levels: each subgraph level takes 3 (graph → node → attribute), and the innermost
        // value_info types 5 more, so about 30 levels is the deepest that parses
        int deepest = Enumerable.Range(1, 40).Last(d => TryParse(OnnxWire.NestedIfs(d)));
        Assert.IsTrue(deepest is >= 25 and < 40, $"deepest {deepest}");
        var model = OnnxModel.Load(OnnxWire.NestedIfs(deepest), "deep.onnx");
        var census = ModelCensus.Of(model.Proto);
        Assert.AreEqual(deepest, census.MaxSubgraphDepth);
        Assert.AreEqual((2 * deepest) + 1, census.NodeCount); // an If and an else Identity per level, and the innermost Identity
    }

    private static bool TryParse(byte[] bytes)
    {
        try
        {
            ModelProto.Parser.ParseFrom(bytes);
            return true;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }

    [TestMethod]
    public void ACensusOfAMillionNodeChainIsLinearAndIterative()
    {
        using var bytes = new MemoryStream();
        OnnxWire.WriteChain(bytes, 1_000_000, "Identity");
        Assert.IsTrue(bytes.Length is > 30_000_000 and < 40_000_000, $"{bytes.Length} bytes");
        var model = ModelProto.Parser.ParseFrom(bytes.ToArray());
        var watch = Stopwatch.StartNew();
        var census = ModelCensus.Of(model);
        Assert.AreEqual(1_000_000, census.NodeCount);
        Assert.AreEqual(0, census.QuantizedOpCount);
        Assert.IsLessThan(10.0, watch.Elapsed.TotalSeconds);
    }
}
