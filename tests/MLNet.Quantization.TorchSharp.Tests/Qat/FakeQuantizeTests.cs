using MLNet.Quantization.Numerics;
using MLNet.Quantization.TorchSharp.Native;
using MLNet.Quantization.TorchSharp.Qat;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

[TestClass]
public sealed class FakeQuantizeTests
{
    // scale 0.1, zero point 10, quint8 [0, 255]: q = clamp(10 + round_half_even(x · 10), 0, 255), x̂ = (q − 10) · 0.1f
    private static readonly QParams UInt8 = QParams.PerTensor(0.1f, 10, QuantDataType.UInt8);

    [ClassInitialize]
    public static void Load(TestContext _) => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void PerTensorValuesClampAndRoundHalfToEven()
    {
        float[] x = [-2.0f, -1.0f, -0.25f, 0f, 0.125f, 0.25f, 0.75f, 1.5f, 24.5f, 24.6f, 30f];
        // x·10 = -20, -10, -2.5, 0, 1.25, 2.5, 7.5, 15, 245, 246, 300 → +10, ties to even, clamped to [0, 255]
        int[] q = [0, 0, 8, 10, 11, 12, 18, 25, 255, 255, 255];
        var expected = q.Select(v => (v - 10) * 0.1f).ToArray();

        using var input = tensor(x);
        using var output = FakeQuantize.Apply(input, UInt8);

        CollectionAssert.AreEqual(expected, output.data<float>().ToArray());
        Assert.AreEqual(-0.2f, expected[2]);
        Assert.AreEqual(0.2f, expected[5]);
        Assert.AreEqual(24.5f, expected[^1]);
        CollectionAssert.AreEqual(CoreKernel(x, [x.Length], UInt8), output.data<float>().ToArray());
    }

    [TestMethod]
    public void GradientIsOneInsideTheRangeAndZeroOutside()
    {
        float[] x = [-2.0f, -1.0f, -0.25f, 0.25f, 24.5f, 24.6f, 30f];
        // q before clamping: -10, 0, 8, 12, 255, 256, 310 → PyTorch's mask qmin ≤ q ≤ qmax
        float[] expected = [0f, 1f, 1f, 1f, 1f, 0f, 0f];

        using var input = tensor(x).requires_grad_(true);
        using var output = FakeQuantize.Apply(input, UInt8);
        using var weights = arange(1, x.Length + 1, dtype: ScalarType.Float32);
        using var loss = (output * weights).sum();
        loss.backward();

        var grad = input.grad!.data<float>().ToArray();
        CollectionAssert.AreEqual(expected.Select((m, i) => m * (i + 1)).ToArray(), grad);
    }

    [TestMethod]
    public void PerChannelUsesTheAxis()
    {
        // int8 symmetric [-128, 127], zero point 0; channels along axis 1 with scales 0.5, 0.25 and 2
        var qparams = new QParams([0.5f, 0.25f, 2f], [0, 0, 0], QuantDataType.Int8, axis: 1);
        float[] x = [0.75f, 0.75f, 3f, -100f, -40f, 300f];
        // column scales: 0.75/0.5 = 1.5 → 2 → 1.0; 0.75/0.25 = 3 → 0.75; 3/2 = 1.5 → 2 → 4;
        // -100/0.5 = -200 → -128 → -64; -40/0.25 = -160 → -128 → -32; 300/2 = 150 → 127 → 254
        float[] expected = [1.0f, 0.75f, 4f, -64f, -32f, 254f];

        using var input = tensor(x, 2, 3).requires_grad_(true);
        using var output = FakeQuantize.Apply(input, qparams);
        output.sum().backward();

        CollectionAssert.AreEqual(expected, output.data<float>().ToArray());
        CollectionAssert.AreEqual(CoreKernel(x, [2, 3], qparams), output.data<float>().ToArray());
        CollectionAssert.AreEqual(new float[] { 1, 1, 1, 0, 0, 0 }, input.grad!.data<float>().ToArray());
    }

    [TestMethod]
    public void MatchesTheCoreKernelOnRandomValues()
    {
        var random = new Random(3);
        var x = Enumerable.Range(0, 4 * 5 * 6).Select(_ => (float)(random.NextDouble() * 8 - 3)).ToArray();
        var perTensor = QParams.PerTensor(0.0123f, 37, QuantDataType.UInt8);
        var perChannel = new QParams([0.01f, 0.02f, 0.05f, 0.003f, 0.1f], new int[5], QuantDataType.Int8, axis: 1);

        using var input = tensor(x, 4, 5, 6);
        using var a = FakeQuantize.Apply(input, perTensor);
        using var b = FakeQuantize.Apply(input, perChannel);

        CollectionAssert.AreEqual(CoreKernel(x, [4, 5, 6], perTensor), a.data<float>().ToArray());
        CollectionAssert.AreEqual(CoreKernel(x, [4, 5, 6], perChannel), b.data<float>().ToArray());
    }

    [TestMethod]
    public void RejectsAChannelCountThatDoesNotMatch()
    {
        var qparams = new QParams([0.5f, 0.25f], [0, 0], QuantDataType.Int8, axis: 1);
        using var input = zeros(2, 3);
        var error = Assert.ThrowsExactly<ArgumentException>(() => FakeQuantize.Apply(input, qparams));
        StringAssert.Contains(error.Message, "3 channels on axis 1");
    }

    private static float[] CoreKernel(float[] x, int[] shape, QParams qparams)
    {
        var result = new float[x.Length];
        QuantizeKernels.FakeQuantize(x, shape, qparams, result);
        return result;
    }
}
