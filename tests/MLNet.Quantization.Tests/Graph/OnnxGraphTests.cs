using Google.Protobuf;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Graph;

[TestClass]
public sealed class OnnxGraphTests
{
    public static IEnumerable<object[]> Models => TestPaths.SharedModels.Select(m => new object[] { m });

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void UneditedGraphRoundTripsByteForByte(string name)
    {
        byte[] original = File.ReadAllBytes(TestPaths.Model(name));
        var graph = OnnxGraph.FromModel(OnnxModel.Load(original, name));
        CollectionAssert.AreEqual(original, graph.ToModel().ToBytes());
        CollectionAssert.AreEqual(original, graph.Clone().ToModel().ToBytes());
    }

    [TestMethod]
    public void ProducersConsumersAndInitializersOfFmnistCnn()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_cnn"));
        Assert.HasCount(16, g.Nodes);
        Assert.HasCount(22, g.Initializers);
        Assert.AreEqual("input", g.Inputs.Single().Name);
        Assert.AreEqual("logits", g.Outputs.Single().Name);

        Assert.AreEqual("/c1/Conv", g.GetProducer("/c1/Conv_output_0")!.Name);
        Assert.IsNull(g.GetProducer("input"));
        Assert.IsNull(g.GetProducer("c1.weight"));
        // the residual: /Relu_1_output_0 feeds /c3/Conv (input 0) and /Add (input 1)
        var uses = g.GetConsumers("/Relu_1_output_0").Select(u => (u.Node.Name, u.InputIndex)).ToArray();
        CollectionAssert.AreEqual(new[] { ("/c3/Conv", 0), ("/Add", 1) }, uses);

        Assert.IsTrue(g.IsInitializer("c1.weight"));
        Assert.IsTrue(g.IsGraphInput("input"));
        Assert.IsTrue(g.IsGraphOutput("logits"));
        Assert.IsTrue(g.TryGetConstant("c1.weight", out var w));
        Assert.AreEqual(TensorElementType.Float, w.ElementType);
        Assert.AreEqual(4, w.Dims.Count);
        Assert.AreEqual(w.ElementCount, w.ToFloatArray().LongLength);
        Assert.AreEqual(13L, g.GetOpsetVersion());
        Assert.AreEqual(13L, g.GetOpsetVersion("ai.onnx"));
    }

    [TestMethod]
    public void ConstantNodeOutputsAreConstants()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_mobile"));
        var constant = g.Nodes.First(n => n.OpType == "Constant");
        Assert.IsTrue(g.TryGetConstant(constant.Outputs[0], out var value));
        Assert.AreEqual(constant.Outputs[0], value.Name);
        Assert.IsFalse(g.TryGetConstant("input", out _));
    }

    private static OnnxGraph Chain()
    {
        // X → Relu(a) → Sigmoid(b) → Y, with an extra consumer Neg(c) of a's output
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "chain" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model.Graph.Input.Add(TinyModels.FloatInfo("X", 1, 4));
        model.Graph.Output.Add(TinyModels.FloatInfo("Y", 1, 4));
        model.Graph.Output.Add(TinyModels.FloatInfo("Z", 1, 4));
        // deliberately out of order: b before a
        model.Graph.Node.Add(new NodeProto { Name = "b", OpType = "Sigmoid", Input = { "A" }, Output = { "Y" } });
        model.Graph.Node.Add(new NodeProto { Name = "a", OpType = "Relu", Input = { "X" }, Output = { "A" } });
        model.Graph.Node.Add(new NodeProto { Name = "c", OpType = "Neg", Input = { "A" }, Output = { "Z" } });
        return OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray(), "chain"));
    }

    [TestMethod]
    public void TopologicalOrderIsStable()
    {
        var g = Chain();
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, g.TopologicalOrder().Select(n => n.Name).ToArray());
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, g.ToModel().Proto.Graph.Node.Select(n => n.Name).ToArray(), "ToModel writes nodes sorted");
    }

    [TestMethod]
    public void CycleIsReportedWithANodeName()
    {
        var g = Chain();
        g.ReplaceInput(g.Nodes.Single(n => n.Name == "a"), 0, "Y"); // a reads b's output, b reads a's
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => g.TopologicalOrder());
        StringAssert.Contains(e.Message, "cycle through node '");
    }

    [TestMethod]
    public void InsertNodeOnEdgeRewiresOnlyThatConsumer()
    {
        var g = Chain();
        var b = g.Nodes.Single(n => n.Name == "b");
        var inserted = g.InsertNodeOnEdge("Identity", "A", new NodeInput(b, 0));
        Assert.AreEqual("A", inserted.Inputs[0]);
        Assert.AreEqual(inserted.Outputs[0], b.Inputs[0]);
        CollectionAssert.AreEquivalent(new[] { inserted.Name, "c" }, g.GetConsumers("A").Select(u => u.Node.Name).ToArray());
        Assert.AreSame(inserted, g.GetProducer(inserted.Outputs[0]));
        Assert.AreEqual(b, g.GetConsumers(inserted.Outputs[0]).Single().Node);
        // stable: among ready nodes the earlier-added first (b was first, c third, the new node last)
        CollectionAssert.AreEqual(new[] { "a", "c", inserted.Name, "b" }, g.TopologicalOrder().Select(n => n.Name).ToArray());
    }

    [TestMethod]
    public void RemoveNodeRefusesWhileOutputsAreRead()
    {
        var g = Chain();
        var a = g.Nodes.Single(n => n.Name == "a");
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => g.RemoveNode(a));
        StringAssert.Contains(e.Message, "'A' is still read");

        var c = g.Nodes.Single(n => n.Name == "c");
        g.ReplaceAllUses("A", "X");
        Assert.IsEmpty(g.GetConsumers("A"));
        Assert.HasCount(3, g.GetConsumers("X"));
        g.RemoveNode(a);
        Assert.IsNull(g.GetProducer("A"));
        Assert.HasCount(2, g.Nodes);
        Assert.AreEqual("X", c.Inputs[0]);
    }

    [TestMethod]
    public void NamesAreMadeUnique()
    {
        var g = Chain();
        string first = g.UniqueName("A");
        string second = g.UniqueName("A");
        Assert.AreNotEqual("A", first);
        Assert.AreNotEqual(first, second);
        var node = g.AddNode("Relu", ["X"], ["R"], name: "a");
        Assert.AreNotEqual("a", node.Name);
        string init = g.AddInitializer(TensorData.FromFloats("X", [1], [1f]));
        Assert.AreNotEqual("X", init);
        Assert.IsTrue(g.IsInitializer(init));
        Assert.ThrowsExactly<OnnxGraphException>(() => g.AddNode("Relu", ["X"], ["Y"]));
    }

    [TestMethod]
    public void RemoveUnusedInitializersKeepsUsedOnes()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_cnn"));
        string unused = g.AddInitializer(TensorData.FromFloats("spare", [2], [1f, 2f]));
        Assert.AreEqual(1, g.RemoveUnusedInitializers());
        Assert.IsFalse(g.IsInitializer(unused));
        Assert.HasCount(22, g.Initializers);
    }

    [TestMethod]
    public void SubgraphOuterReadsCountAsUses()
    {
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "if" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        model.Graph.Input.Add(new ValueInfoProto { Name = "cond", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9 } } });
        model.Graph.Output.Add(TinyModels.FloatInfo("out", 2));
        model.Graph.Initializer.Add(TinyModels.FloatTensor("outer", [2], [1f, 2f]));
        var branch = new GraphProto { Name = "then" };
        branch.Node.Add(new NodeProto { OpType = "Identity", Input = { "outer" }, Output = { "t" } });
        branch.Output.Add(TinyModels.FloatInfo("t", 2));
        var ifNode = new NodeProto { Name = "if", OpType = "If", Input = { "cond" }, Output = { "out" } };
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch.Clone() });
        model.Graph.Node.Add(ifNode);
        var g = OnnxGraph.FromModel(OnnxModel.Load(model.ToByteArray()));
        Assert.IsTrue(g.IsUsed("outer"));
        Assert.AreEqual(0, g.RemoveUnusedInitializers());
        Assert.IsTrue(g.Nodes.Single().HasSubgraphs);
    }

    [TestMethod]
    public void AttributesReadAndWrite()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_cnn"));
        var gemm = g.Nodes.First(n => n.OpType == "Gemm");
        Assert.AreEqual(1L, gemm.GetInt("transB", 0));
        Assert.AreEqual(1f, gemm.GetFloat("alpha", 1f));
        var conv = g.Nodes.First(n => n.OpType == "Conv");
        Assert.HasCount(2, conv.GetInts("kernel_shape"));
        conv.SetInt("group", 1);
        conv.SetInts("dilations", [1, 1]);
        conv.SetString("auto_pad", "NOTSET");
        Assert.AreEqual(1L, conv.GetInt("group", 0));
        Assert.AreEqual("NOTSET", conv.GetString("auto_pad", ""));
        Assert.IsTrue(conv.RemoveAttribute("auto_pad"));
        Assert.IsFalse(conv.HasAttribute("auto_pad"));
    }
}
