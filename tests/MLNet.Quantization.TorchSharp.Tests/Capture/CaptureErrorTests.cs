using MLNet.Quantization.TorchSharp.Capture;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>What cannot be captured fails with a .NET exception naming the module path and type, before TorchSharp is called.</summary>
[TestClass]
public sealed class CaptureErrorTests
{
    private sealed class Doubler : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> inner = nn.Linear(4, 4);

        public Doubler() : base(nameof(Doubler)) => RegisterComponents();

        public override Tensor forward(Tensor input) => inner.forward(input) * 2;
    }

    private sealed class Scale : nn.Module<Tensor, Tensor>
    {
        public Scale() : base(nameof(Scale)) { }

        public override Tensor forward(Tensor input) => input * 3;
    }

    [TestMethod]
    public void UnsupportedLeafIsRejectedWithItsPathAndType()
    {
        var model = nn.Sequential(("features", nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.LeakyReLU())));
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(model, 1, 4));
        Assert.AreEqual("features.3", e.ModulePath);
        Assert.AreEqual(typeof(global::TorchSharp.Modules.LeakyReLU), e.ModuleType);
        StringAssert.Contains(e.Message, "'features.3'");
        StringAssert.Contains(e.Message, "TorchSharp.Modules.LeakyReLU");
    }

    [TestMethod]
    public void LstmIsRejectedWithItsType()
    {
        using var lstm = nn.LSTM(4, 4);
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => TorchSharpExporter.Capture(lstm, [1, 3, 4]));
        Assert.AreEqual(typeof(global::TorchSharp.Modules.LSTM), e.ModuleType);
        StringAssert.Contains(e.Message, "TorchSharp.Modules.LSTM");
    }

    [TestMethod]
    public void CustomContainerIsRejected()
    {
        var model = nn.Sequential(("head", new Doubler()));
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(model, 1, 4));
        Assert.AreEqual("head", e.ModulePath);
        StringAssert.Contains(e.Message, typeof(Doubler).FullName!);
        StringAssert.Contains(e.Message, "only Sequential and Residual containers");
    }

    [TestMethod]
    public void CustomLeafIsRejectedEvenAsTheRoot()
    {
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(new Scale(), 1, 4));
        Assert.AreEqual("", e.ModulePath);
        StringAssert.Contains(e.Message, "'(root)'");
        StringAssert.Contains(e.Message, typeof(Scale).FullName!);
    }

    [TestMethod]
    public void LinearWithTheWrongInputWidthFailsBeforeTorchSharpRuns()
    {
        // TorchSharp itself would throw (or abort, for some ops) inside libtorch; the capture checks shapes first.
        var model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(5, 2));
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(model, 1, 4));
        Assert.AreEqual("2", e.ModulePath);
        StringAssert.Contains(e.Message, "expects 5 input features");
        StringAssert.Contains(e.Message, "[1, 6]");
    }

    [TestMethod]
    public void ConvWithTheWrongChannelsOrRankIsRejected()
    {
        var channels = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.Conv2d(3, 4, 3), 1, 2, 8, 8));
        StringAssert.Contains(channels.Message, "expects 3 input channels");
        var rank = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.Conv2d(3, 4, 3), 1, 3, 8));
        StringAssert.Contains(rank.Message, "4-D input");
        var tooSmall = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.Conv2d(3, 4, 5), 1, 3, 4, 4));
        StringAssert.Contains(tooSmall.Message, "does not fit");
    }

    [TestMethod]
    public void NonZeroPaddingModeIsRejected()
    {
        var conv = nn.Conv2d(3, 4, 3, padding: 1, padding_mode: PaddingModes.Reflect);
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(conv, 1, 3, 8, 8));
        StringAssert.Contains(e.Message, "padding_mode Reflect");
    }

    [TestMethod]
    public void UnsupportedHyperparametersAreRejected()
    {
        var adaptive = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.AdaptiveAvgPool2d(2), 1, 3, 8, 8));
        StringAssert.Contains(adaptive.Message, "only output size 1");
        var divisor = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.AvgPool2d(2, divisor_override: 3), 1, 3, 8, 8));
        StringAssert.Contains(divisor.Message, "divisor_override");
        var noStats = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.BatchNorm2d(3, track_running_stats: false), 1, 3, 8, 8));
        StringAssert.Contains(noStats.Message, "running statistics");
        var layerNorm = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(nn.LayerNorm(6), 1, 3, 5));
        StringAssert.Contains(layerNorm.Message, "trailing dims [6]");
    }

    [TestMethod]
    public void Float64ModulesAreRejected()
    {
        var linear = nn.Linear(4, 2).to(ScalarType.Float64);
        var e = Assert.ThrowsExactly<ModuleCaptureException>(() => CaptureCheck.Capture(linear, 1, 4));
        StringAssert.Contains(e.Message, "Float64");
    }

    [TestMethod]
    public void BadInputShapesAndOptionsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => CaptureCheck.Capture(nn.ReLU(), 4));
        Assert.ThrowsExactly<ArgumentException>(() => CaptureCheck.Capture(nn.ReLU(), 1, 0));
        Assert.ThrowsExactly<ArgumentException>(() => TorchSharpExporter.Capture(nn.ReLU(), [1, 4], new CaptureOptions { InputName = "x", OutputName = "x" }));
    }
}
