using MLNet.Quantization.Samples;
using MLNet.Quantization.TorchSharp.Capture;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpQatExample;

/// <summary>A small ResNet-style CNN written and trained in TorchSharp, the starting point before capture.</summary>
internal static class SmallCnn
{
    public static nn.Module<Tensor, Tensor> Create() => nn.Sequential(
        ("stem", nn.Sequential(nn.Conv2d(1, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU())),
        ("block", new Residual(nn.Sequential(nn.Conv2d(16, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding: 1)))),
        ("pool", nn.MaxPool2d(2)),
        ("down", nn.Sequential(nn.Conv2d(16, 32, 3, padding: 1, bias: false), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))),
        ("flatten", nn.Flatten()),
        ("dropout", nn.Dropout(0.2)),
        ("fc", nn.Linear(32 * 7 * 7, 10)));

    /// <summary>Trains with Adam and cross-entropy; returns the module in eval mode.</summary>
    public static nn.Module<Tensor, Tensor> Train(FashionMnist data, int epochs, int seed = 0)
    {
        torch.manual_seed(seed);
        var net = Create();
        var optimizer = optim.Adam(net.parameters(), 2e-3);
        var rng = new Random(seed);
        const int batch = 64;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            net.train();
            var order = Enumerable.Range(0, data.Count).OrderBy(_ => rng.Next()).ToArray();
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < data.Count; start += batch)
            {
                int n = Math.Min(batch, data.Count - start);
                var x = new float[n * data.ImageSize];
                var y = new long[n];
                for (int i = 0; i < n; i++)
                {
                    data.Image(order[start + i]).CopyTo(x.AsSpan(i * data.ImageSize));
                    y[i] = data.Labels[order[start + i]];
                }

                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var logits = net.forward(torch.tensor(x, n, 1, data.Height, data.Width));
                var loss = nn.functional.cross_entropy(logits, torch.tensor(y));
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }

            Console.WriteLine($"  TorchSharp training epoch {epoch}: mean loss {lossSum / batches:F4}");
        }

        net.eval();
        return net;
    }
}
