using MLNet.Quantization.Runtime;
using MLNet.Quantization.Samples;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Samples;

[TestClass]
public sealed class FashionMnistTests
{
    [TestMethod]
    public void LoadsTheTestSetNormalised()
    {
        var test = TestData.Test;
        Assert.AreEqual(10_000, test.Count);
        Assert.AreEqual(28 * 28, test.ImageSize);
        // a 0 pixel normalises to (0 − 0.2860)/0.3530 and a 255 pixel to (1 − 0.2860)/0.3530
        Assert.AreEqual(-0.2860f / 0.3530f, test.Images.Min(), 1e-6f);
        Assert.AreEqual((1f - 0.2860f) / 0.3530f, test.Images.Max(), 1e-6f);
        Assert.IsTrue(test.Labels.All(l => l is >= 0 and <= 9));
    }

    [TestMethod]
    public void BadFilesGiveClearErrors()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), [0, 0, 9, 3]);
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 5, 1]);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => FashionMnist.Load(dir));
            StringAssert.Contains(e.Message, "t10k-images-idx3-ubyte");
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2]);
            e = Assert.ThrowsExactly<InvalidDataException>(() => FashionMnist.Load(dir));
            StringAssert.Contains(e.Message, "truncated");
            Assert.ThrowsExactly<FileNotFoundException>(() => FashionMnist.Load(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    [DataRow("fmnist_rowtf")]
    public void Fp32AccuracyMatchesTheModelCard(string model)
    {
        using var runner = new ModelRunner(File.ReadAllBytes(TestPaths.Model(model)));
        double accuracy = runner.Accuracy(TestData.Test.Images, TestData.Test.Labels);
        Assert.AreEqual(TestData.Fp32Accuracy(model), accuracy, 0.0005);
    }

    [TestMethod]
    public void BatchesCoverEveryImageInOrder()
    {
        var slice = FashionMnist.Load(TestPaths.FashionMnistDirectory, train: true, maxCount: 150);
        var batches = slice.Batches("x", 64).ToList();
        CollectionAssert.AreEqual(new[] { 64, 64, 22 }, batches.Select(b => b.Single().Shape[0]).ToArray());
        Assert.IsTrue(batches.All(b => b.Single().Name == "x" && b.Single().Shape.Skip(1).SequenceEqual(new[] { 1, 28, 28 })));
        CollectionAssert.AreEqual(slice.Images, batches.SelectMany(b => b.Single().Floats!).ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => slice.Batches("x", 0));
    }
}
