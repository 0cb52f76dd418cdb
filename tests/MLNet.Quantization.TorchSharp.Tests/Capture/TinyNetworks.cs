using MLNet.Quantization.TorchSharp.Capture;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Capture;

/// <summary>Small ResNet-, MobileNet- and transformer-style networks for 1×28×28 inputs, with trained-looking BatchNorm statistics.</summary>
internal static class TinyNetworks
{
    public static Sequential ResNetStyle()
    {
        manual_seed(11);
        var net = nn.Sequential(
            ("stem", nn.Sequential(nn.Conv2d(1, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU())),
            ("block1", new Residual(nn.Sequential(
                nn.Conv2d(8, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(),
                nn.Conv2d(8, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8)))),
            ("relu1", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
            ("block2", new Residual(
                nn.Sequential(nn.Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16)),
                nn.Sequential(nn.Conv2d(8, 16, 1, stride: 2, bias: false), nn.BatchNorm2d(16)))),
            ("relu2", nn.ReLU()),
            ("avg", nn.AvgPool2d(7)),
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(0.2)),
            ("fc", nn.Linear(16, 10)));
        WarmUp(net);
        return net;
    }

    public static Sequential MobileNetStyle()
    {
        manual_seed(12);
        static Sequential Separable(int inC, int outC, int stride) => nn.Sequential(
            ("dw", nn.Conv2d(inC, inC, 3, stride: stride, padding: 1, groups: inC, bias: false)), ("dw_bn", nn.BatchNorm2d(inC)), ("dw_relu", nn.ReLU6()),
            ("pw", nn.Conv2d(inC, outC, 1, bias: false)), ("pw_bn", nn.BatchNorm2d(outC)), ("pw_relu", nn.ReLU6()));

        var net = nn.Sequential(
            ("features", nn.Sequential(
                nn.Conv2d(1, 8, 3, stride: 2, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU6(),
                Separable(8, 16, 1),
                Separable(16, 32, 2),
                Separable(32, 32, 1))),
            ("pool", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("classifier", nn.Linear(32, 10)));
        WarmUp(net);
        return net;
    }

    /// <summary>Rows of the image as tokens: a Linear embedding, a pre-norm MLP residual block with GELU, LayerNorm, and a Linear head over the flattened tokens.</summary>
    public static Sequential TokenMlp()
    {
        manual_seed(13);
        var net = nn.Sequential(
            ("embed", nn.Flatten(1, 2)),
            ("proj", nn.Linear(28, 32)),
            ("block", new Residual(nn.Sequential(nn.LayerNorm(32), nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32)))),
            ("norm", nn.LayerNorm(32)),
            ("flatten", nn.Flatten()),
            ("head", nn.Linear(28 * 32, 10)));
        WarmUp(net);
        return net;
    }

    /// <summary>Random BatchNorm affine parameters, then a few training-mode forwards so that the running statistics are non-trivial.</summary>
    private static void WarmUp(Sequential net)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (_, module) in net.named_modules())
        {
            if (module is BatchNorm bn)
            {
                bn.weight!.uniform_(0.5, 1.5);
                bn.bias!.uniform_(-0.3, 0.3);
            }
        }

        net.train();
        for (int i = 0; i < 4; i++)
            net.forward(randn(16, 1, 28, 28));
        net.eval();
    }
}
