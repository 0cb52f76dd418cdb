using MLNet.Quantization.Graph;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Graph;

[TestClass]
public sealed class OrtShapeInferenceTests
{
    [TestMethod]
    public void InfersConvOutputShapesOfFmnistCnn()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_cnn"));
        var infos = OrtShapeInference.Infer(g, ["/c1/Conv_output_0", "/Flatten_output_0"]);
        var conv = infos["/c1/Conv_output_0"];
        Assert.AreEqual(TensorElementType.Float, conv.ElementType);
        Assert.HasCount(4, conv.Shape!);
        Assert.AreEqual(28L, conv.Shape![2].Value, "3×3 conv with padding 1 keeps 28×28");
        Assert.HasCount(2, infos["/Flatten_output_0"].Shape!);
    }

    [TestMethod]
    public void InfersRank3MatMulOutputsOfFmnistRowtf()
    {
        var g = OnnxGraph.Load(TestPaths.Model("fmnist_rowtf"));
        var matmuls = g.Nodes.Where(n => n.OpType == "MatMul").Select(n => n.Outputs[0]).ToList();
        var infos = OrtShapeInference.Infer(g, matmuls);
        Assert.HasCount(matmuls.Count, infos);
        Assert.IsTrue(infos.Values.All(v => v.Shape is not null && v.Shape.Count >= 3), "every MatMul output in the transformer is at least rank 3");
        OrtShapeInference.Annotate(g);
        Assert.IsNotNull(g.GetValueInfo(matmuls[0])?.Shape);
    }
}
