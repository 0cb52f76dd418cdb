using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>Every supported leaf module, with several hyperparameter settings: ONNX Runtime matches TorchSharp's eval output.</summary>
[TestClass]
public sealed class LeafModuleCaptureTests
{
    [TestMethod]
    [DataRow(5, 3, true)]
    [DataRow(7, 4, false)]
    public void Linear(int inFeatures, int outFeatures, bool bias)
    {
        CaptureCheck.AssertMatches(nn.Linear(inFeatures, outFeatures, hasBias: bias), [inFeatures]);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void LinearOnTokensBecomesMatMul(bool bias)
    {
        var linear = nn.Linear(6, 4, hasBias: bias);
        CaptureCheck.AssertMatches(linear, [5, 6]);
        var ops = CaptureCheck.Ops(linear, 1, 5, 6);
        CollectionAssert.AreEqual(bias ? new[] { "MatMul", "Add" } : new[] { "MatMul" }, ops);
    }

    [TestMethod]
    // in, out, kernel, stride, padding, dilation, groups, bias
    [DataRow(3, 4, 3, 1, 0, 1, 1, true)]
    [DataRow(4, 6, 3, 2, 1, 1, 2, true)]
    [DataRow(4, 4, 3, 1, 2, 2, 4, false)]
    [DataRow(6, 3, 5, 3, 2, 1, 3, true)]
    [DataRow(2, 8, 1, 1, 0, 1, 1, true)]
    public void Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, bool bias)
    {
        var conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, dilation: dilation, groups: groups, bias: bias);
        CaptureCheck.AssertMatches(conv, [inChannels, 11, 9]);
    }

    [TestMethod]
    public void Conv2dWithRectangularHyperparameters()
    {
        var conv = nn.Conv2d(3, 4, (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2));
        CaptureCheck.AssertMatches(conv, [3, 10, 8]);
    }

    [TestMethod]
    [DataRow(4, 1)]
    [DataRow(3, 2)]
    [DataRow(2, 3)]
    public void Conv2dSamePaddingIsAsymmetricForEvenKernels(int kernel, int dilation)
    {
        var conv = nn.Conv2d(3, 5, kernel, padding: Padding.Same, dilation: dilation);
        CaptureCheck.AssertMatches(conv, [3, 9, 10]);
    }

    [TestMethod]
    public void Conv2dValidPadding()
    {
        CaptureCheck.AssertMatches(nn.Conv2d(3, 5, 3, padding: Padding.Valid), [3, 9, 10]);
    }

    [TestMethod]
    // in, out, kernel, stride, padding, dilation, groups, bias
    [DataRow(3, 4, 3, 1, 0, 1, 1, true)]
    [DataRow(4, 8, 5, 2, 2, 1, 4, true)]
    [DataRow(2, 4, 3, 1, 3, 3, 2, false)]
    public void Conv1d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, bool bias)
    {
        var conv = nn.Conv1d(inChannels, outChannels, kernel, stride: stride, padding: padding, dilation: dilation, groups: groups, bias: bias);
        CaptureCheck.AssertMatches(conv, [inChannels, 17]);
    }

    [TestMethod]
    public void Conv1dSamePadding()
    {
        CaptureCheck.AssertMatches(nn.Conv1d(3, 4, 4, padding: Padding.Same), [3, 12]);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void BatchNorm2d(bool affine)
    {
        var bn = nn.BatchNorm2d(4, eps: 1e-3, affine: affine);
        CaptureCheck.Randomize(bn, [8, 4, 5, 5]);
        Assert.IsTrue(bn.training, "BatchNorm stays in training mode for the capture");
        CaptureCheck.AssertMatches(bn, [4, 5, 5]);
        Assert.IsTrue(bn.training);
    }

    [TestMethod]
    [DataRow(new long[] { 6 })]
    [DataRow(new long[] { 6, 7 })]
    public void BatchNorm1d(long[] sampleShape)
    {
        var bn = nn.BatchNorm1d(6);
        CaptureCheck.Randomize(bn, [8, .. sampleShape]);
        CaptureCheck.AssertMatches(bn, sampleShape);
    }

    [TestMethod]
    [DataRow("ReLU")]
    [DataRow("ReLU6")]
    [DataRow("GELU")]
    [DataRow("GELU-tanh")]
    [DataRow("Sigmoid")]
    [DataRow("Tanh")]
    public void Activation(string name)
    {
        nn.Module<Tensor, Tensor> module = name switch
        {
            "ReLU" => nn.ReLU(),
            "ReLU6" => nn.ReLU6(),
            "GELU" => nn.GELU(),
            "GELU-tanh" => nn.GELU(GELU.Approximate.tanh),
            "Sigmoid" => nn.Sigmoid(),
            "Tanh" => nn.Tanh(),
            _ => throw new ArgumentException(name),
        };
        CaptureCheck.AssertMatches(module, [3, 4, 5]);
    }

    [TestMethod]
    // kernel, stride, padding, dilation, ceil_mode
    [DataRow(2, 2, 0, 1, false)]
    [DataRow(3, 2, 1, 1, false)]
    [DataRow(3, 1, 1, 2, false)]
    [DataRow(3, 2, 1, 1, true)]
    [DataRow(2, 3, 0, 1, true)]
    public void MaxPool2d(int kernel, int stride, int padding, int dilation, bool ceilMode)
    {
        var pool = nn.MaxPool2d(kernel, stride, padding, dilation, ceilMode);
        CaptureCheck.AssertMatches(pool, [3, 10, 11]);
    }

    [TestMethod]
    // kernel, stride, padding, ceil_mode, count_include_pad
    [DataRow(2, 2, 0, false, true)]
    [DataRow(3, 2, 1, false, true)]
    [DataRow(3, 2, 1, false, false)]
    [DataRow(3, 1, 1, false, false)]
    [DataRow(3, 2, 1, true, true)]
    [DataRow(3, 2, 1, true, false)]
    [DataRow(2, 3, 0, true, true)]
    public void AvgPool2d(int kernel, int stride, int padding, bool ceilMode, bool countIncludePad)
    {
        var pool = nn.AvgPool2d(kernel, stride, padding, ceilMode, countIncludePad);
        CaptureCheck.AssertMatches(pool, [3, 10, 11]);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void CeilModeDropsAWindowThatWouldStartInThePadding(bool countIncludePad)
    {
        // 5 and 8 wide, kernel 3, stride 3, padding 1: ceil mode's last window would start in the right padding, so PyTorch drops it.
        CaptureCheck.AssertMatches(nn.MaxPool2d(3, 3, 1, ceil_mode: true), [2, 5, 8]);
        CaptureCheck.AssertMatches(nn.AvgPool2d(3, 3, 1, ceil_mode: true, count_include_pad: countIncludePad), [2, 5, 8]);
        var shape = TorchSharpExporter.CaptureGraph(nn.AvgPool2d(3, 3, 1, ceil_mode: true), [1, 2, 5, 8]).Outputs.Single().Shape!;
        CollectionAssert.AreEqual(new long?[] { null, 2, 2, 3 }, shape.Select(d => d.Value).ToArray());
    }

    [TestMethod]
    public void AdaptiveAvgPool2dToOneIsGlobalAveragePool()
    {
        var pool = nn.AdaptiveAvgPool2d(1);
        CaptureCheck.AssertMatches(pool, [4, 7, 6]);
        Assert.AreEqual("GlobalAveragePool", CaptureCheck.Ops(pool, 1, 4, 7, 6).Single());
    }

    [TestMethod]
    // start_dim, end_dim, expected op
    [DataRow(1, -1, "Flatten")]
    [DataRow(2, -1, "Reshape")]
    [DataRow(1, 2, "Reshape")]
    [DataRow(-3, -2, "Reshape")]
    [DataRow(0, -1, "Reshape")]
    [DataRow(0, 1, "Reshape")]
    [DataRow(2, 2, null)]
    public void Flatten(int startDim, int endDim, string? op)
    {
        var flatten = nn.Flatten(startDim, endDim);
        CaptureCheck.AssertMatches(flatten, [2, 3, 4, 5]);
        var ops = CaptureCheck.Ops(flatten, 2, 2, 3, 4, 5);
        CollectionAssert.AreEqual(op is null ? new[] { "Identity" } : new[] { op }, ops);
    }

    [TestMethod]
    [DataRow(new long[] { 5 }, true)]
    [DataRow(new long[] { 4, 5 }, true)]
    [DataRow(new long[] { 5 }, false)]
    public void LayerNorm(long[] normalizedShape, bool affine)
    {
        var ln = nn.LayerNorm(normalizedShape, eps: 1e-4, elementwise_affine: affine);
        using (no_grad())
        {
            ln.weight?.uniform_(0.5, 1.5);
            ln.bias?.uniform_(-0.5, 0.5);
        }

        CaptureCheck.AssertMatches(ln, [3, 4, 5]);
    }

    [TestMethod]
    public void DropoutAndIdentityAreDropped()
    {
        var model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Identity(), nn.Dropout2d(0.3), nn.ReLU());
        model.train();
        CaptureCheck.AssertMatches(model, [4]);
        var ops = CaptureCheck.Ops(model, 1, 4);
        CollectionAssert.AreEqual(new[] { "Gemm", "Relu" }, ops);
    }
}
