using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>
/// A quantizer written against the public API only: Add's two inputs and output share one set of parameters, and
/// Sigmoid's output has PyTorch's fixed uint8 parameters (scale 1/256, zero point 0).
/// </summary>
internal sealed class AddSigmoidQuantizer : Quantizer
{
    public static readonly QuantizationSpec Activation = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255);
    public static readonly FixedQParamsQuantizationSpec SigmoidOutput = new(QuantDataType.UInt8, 1f / 256f, 0);

    public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        foreach (var node in graph.TopologicalOrder())
        {
            switch (node.OpType)
            {
                case "Add":
                {
                    var a = annotations.GetOrCreate(node);
                    var first = QuantizationEdge.Input(node, 0);
                    a.InputQSpecMap[0] = Activation;
                    a.InputQSpecMap[1] = new SharedQuantizationSpec(first);
                    a.OutputQSpec = new SharedQuantizationSpec(first);
                    a.Annotated = true;
                    break;
                }

                case "Sigmoid":
                {
                    var a = annotations.GetOrCreate(node);
                    a.InputQSpecMap[0] = Activation;
                    a.OutputQSpec = SigmoidOutput;
                    a.Annotated = true;
                    break;
                }

                default:
                    annotations.Skip(node, "not handled by AddSigmoidQuantizer");
                    break;
            }
        }
    }
}

[TestClass]
public sealed class CustomQuantizerTests
{
    [TestMethod]
    public void CustomQuantizerSharesAddInputsAndFixesSigmoidOutput()
    {
        var graph = new TestGraphBuilder()
            .Input("a", 2, 3).Input("b", 2, 3).Output("y", 2, 3)
            .Node("Add", "add", ["a", "b"], ["s"])
            .Node("Sigmoid", "sig", ["s"], ["t"])
            .Node("Neg", "neg", ["t"], ["y"])
            .Build();
        var quantizer = new AddSigmoidQuantizer();
        var annotations = new QuantizationAnnotations();
        quantizer.Annotate(graph, annotations);
        quantizer.Validate(graph, annotations);

        var add = graph.Node("add");
        var addAnnotation = annotations.Get(add)!;
        Assert.AreEqual(AddSigmoidQuantizer.Activation, addAnnotation.InputQSpecMap[0]);
        var shared = (SharedQuantizationSpec)addAnnotation.InputQSpecMap[1];
        Assert.AreEqual(QuantizationEdge.Input(add, 0), shared.EdgeOrNode);
        Assert.AreEqual("a", shared.EdgeOrNode.TensorName);
        Assert.AreEqual(shared, addAnnotation.OutputQSpec);

        var sig = annotations.Get(graph.Node("sig"))!;
        Assert.AreEqual(AddSigmoidQuantizer.Activation, sig.InputQSpecMap[0]);
        var fixedSpec = (FixedQParamsQuantizationSpec)sig.OutputQSpec!;
        Assert.AreEqual(0.00390625f, fixedSpec.Scale); // 1/256
        Assert.AreEqual(0, fixedSpec.ZeroPoint);
        Assert.AreEqual(QuantDataType.UInt8, fixedSpec.DataType);

        Assert.AreEqual(new SkippedNode("neg", "Neg", "not handled by AddSigmoidQuantizer"), annotations.SkippedNodes.Single());
        Assert.HasCount(2, annotations.All);
    }

    [TestMethod]
    public void BaseValidateCatchesABrokenCustomAnnotation()
    {
        var graph = new TestGraphBuilder()
            .Input("a", 2, 3).Input("b", 2, 3).Output("y", 2, 3)
            .Node("Add", "add", ["a", "b"], ["y"])
            .Build();
        var add = graph.Node("add");
        var annotations = new QuantizationAnnotations();
        // Input 1 shares with input 0, which has no spec of its own.
        annotations.GetOrCreate(add).InputQSpecMap[1] = new SharedQuantizationSpec(QuantizationEdge.Input(add, 0));
        var e = Assert.ThrowsExactly<QuantizationAnnotationException>(() => new AddSigmoidQuantizer().Validate(graph, annotations));
        Assert.Contains("input 1 of Add 'add'", e.Message);
    }
}
