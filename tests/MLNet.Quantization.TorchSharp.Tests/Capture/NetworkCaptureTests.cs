using MLNet.Quantization.TorchSharp.Capture;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>Whole networks and residual blocks: ONNX Runtime matches TorchSharp's eval output.</summary>
[TestClass]
public sealed class NetworkCaptureTests
{
    [TestMethod]
    public void ResidualWithIdentityShortcutIsAnAdd()
    {
        var block = new Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding: 1), nn.ReLU()));
        CaptureCheck.AssertMatches(block, [4, 6, 6]);
        CollectionAssert.AreEqual(new[] { "Conv", "Relu", "Add" }, CaptureCheck.Ops(block, 1, 4, 6, 6));
    }

    [TestMethod]
    public void ResidualWithProjectionShortcut()
    {
        var block = new Residual(nn.Sequential(nn.Conv2d(4, 6, 3, stride: 2, padding: 1), nn.ReLU()), nn.Conv2d(4, 6, 1, stride: 2));
        CaptureCheck.AssertMatches(block, [4, 7, 7]);
    }

    [TestMethod]
    public void ResidualWhoseBranchesDisagreeIsRejected()
    {
        var block = new Residual(nn.Conv2d(4, 6, 3, padding: 1));
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.Sequential(("res", block)), 1, 4, 5, 5));
        Assert.AreEqual("res", e.ModulePath);
        StringAssert.Contains(e.Message, "[1, 6, 5, 5]");
    }

    [TestMethod]
    public void ResNetStyleNetwork()
    {
        var net = TinyNetworks.ResNetStyle();
        CaptureCheck.AssertMatches(net, [1, 28, 28]);
        var ops = CaptureCheck.Ops(net, 1, 1, 28, 28);
        Assert.AreEqual(6, ops.Count(o => o == "Conv"));
        Assert.AreEqual(6, ops.Count(o => o == "BatchNormalization"));
        Assert.AreEqual(2, ops.Count(o => o == "Add"));
    }

    [TestMethod]
    public void MobileNetStyleNetwork()
    {
        var net = TinyNetworks.MobileNetStyle();
        CaptureCheck.AssertMatches(net, [1, 28, 28]);
        var graph = TorchSharpExporter.CaptureGraph(net, [1, 1, 28, 28]);
        var depthwise = graph.Nodes.Where(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1).Select(n => n.Name).ToArray();
        CollectionAssert.AreEqual(new[] { "features.3.dw", "features.4.dw", "features.5.dw" }, depthwise);
        Assert.AreEqual(7, graph.Nodes.Count(n => n.OpType == "Clip"));
        Assert.AreEqual(1, graph.Nodes.Count(n => n.OpType == "GlobalAveragePool"));
    }

    [TestMethod]
    public void TokenMlpWithLayerNormAndGelu()
    {
        var net = TinyNetworks.TokenMlp();
        CaptureCheck.AssertMatches(net, [1, 28, 28]);
    }
}
