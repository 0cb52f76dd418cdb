using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

[TestClass]
public sealed class TransformForAnnotationTests
{
    /// <summary>Drops Identity nodes in <see cref="TransformForAnnotation"/>; annotates nothing.</summary>
    private sealed class IdentityDroppingQuantizer : Quantizer
    {
        public bool AnnotateSawIdentity { get; private set; }

        public override void TransformForAnnotation(OnnxGraph graph)
        {
            foreach (var identity in graph.Nodes.Where(n => n.OpType == "Identity" && !graph.IsGraphOutput(n.Outputs[0])).ToList())
            {
                graph.ReplaceAllUses(identity.Outputs[0], identity.Inputs[0]);
                graph.RemoveNode(identity);
            }
        }

        public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
        {
            AnnotateSawIdentity = graph.Nodes.Any(n => n.OpType == "Identity");
            foreach (var node in graph.Nodes)
                annotations.Skip(node, "not quantized");
        }
    }

    /// <summary>Breaks the rule: adds a node in <see cref="Annotate"/>.</summary>
    private sealed class GraphEditingQuantizer : Quantizer
    {
        public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations) =>
            graph.AddNode("Identity", ["s"], ["s_copy"], "added_while_annotating");
    }

    /// <summary>Breaks the rule: edits a node's attribute in <see cref="Validate"/>.</summary>
    private sealed class AttributeEditingQuantizer : Quantizer
    {
        public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
        {
        }

        public override void Validate(OnnxGraph graph, QuantizationAnnotations annotations)
        {
            graph.Nodes.Single(n => n.OpType == "Sigmoid").SetInt("unexpected", 1);
            base.Validate(graph, annotations);
        }
    }

    /// <summary>a, b → Add → Identity → Sigmoid → y.</summary>
    private static OnnxModel Model() => new TestGraphBuilder()
        .Input("a", 2, 3).Input("b", 2, 3).Output("y", 2, 3)
        .Node("Add", "add", ["a", "b"], ["s"])
        .Node("Identity", "id", ["s"], ["i"])
        .Node("Sigmoid", "sig", ["i"], ["y"])
        .Build().ToModel();

    [TestMethod]
    public void TransformRunsBeforeAnnotateAndItsGraphIsConverted()
    {
        var quantizer = new IdentityDroppingQuantizer();
        var prepared = QuantizationFlow.Prepare(Model(), quantizer, new PrepareOptions { FoldConstants = false });
        Assert.IsFalse(quantizer.AnnotateSawIdentity, "Annotate sees the transformed graph");
        Assert.IsFalse(prepared.Graph.Nodes.Any(n => n.OpType == "Identity"));

        var graph = OnnxGraph.FromModel(prepared.Convert().Model);
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Identity"), "the transformed graph is the one converted");
        using var session = new InferenceSession(graph.ToModel().ToBytes());
        var a = new DenseTensor<float>(new[] { 0f, 1f, 2f, -1f, -2f, 0.5f }, [2, 3]);
        var b = new DenseTensor<float>(new[] { 1f, 1f, 1f, 1f, 1f, 1f }, [2, 3]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("a", a), NamedOnnxValue.CreateFromTensor("b", b)]);
        Assert.AreEqual(1f / (1f + MathF.Exp(-1f)), results.Single().AsTensor<float>().GetValue(0), 1e-6f);
    }

    [TestMethod]
    public void AddingANodeWhileAnnotatingIsRefused()
    {
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => QuantizationFlow.Prepare(Model(), new GraphEditingQuantizer()));
        StringAssert.Contains(e.Message, "GraphEditingQuantizer changed the graph");
        StringAssert.Contains(e.Message, "added_while_annotating");
        StringAssert.Contains(e.Message, "TransformForAnnotation");
    }

    [TestMethod]
    public void EditingAnAttributeWhileValidatingIsRefused()
    {
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => QuantizationFlow.Prepare(Model(), new AttributeEditingQuantizer()));
        StringAssert.Contains(e.Message, "'sig'");
        StringAssert.Contains(e.Message, "edited");
    }
}
