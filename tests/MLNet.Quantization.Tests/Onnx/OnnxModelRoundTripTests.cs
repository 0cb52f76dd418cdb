using MLNet.Quantization.Onnx;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class OnnxModelRoundTripTests
{
    public static IEnumerable<object[]> Models => TestPaths.SharedModels.Select(m => new object[] { m });

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void PathStreamAndBytesRoundTripAreByteIdentical(string name)
    {
        string path = TestPaths.Model(name);
        byte[] original = File.ReadAllBytes(path);

        CollectionAssert.AreEqual(original, OnnxModel.Load(path).ToBytes(), "via path");
        using (var stream = new MemoryStream(original))
            CollectionAssert.AreEqual(original, OnnxModel.Load(stream).ToBytes(), "via stream");
        CollectionAssert.AreEqual(original, OnnxModel.Load(original, name).ToBytes(), "via bytes");

        string dir = TestPaths.NewTempDirectory();
        try
        {
            string saved = Path.Combine(dir, name + ".onnx");
            OnnxModel.Load(path).Save(saved);
            CollectionAssert.AreEqual(original, File.ReadAllBytes(saved), "saved file");
            using var ms = new MemoryStream();
            OnnxModel.Load(path).Save(ms);
            CollectionAssert.AreEqual(original, ms.ToArray(), "saved stream");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void ExposesOpsetsProducerAndIrVersion()
    {
        var model = OnnxModel.Load(TestPaths.Model("fmnist_rowtf"));
        Assert.AreEqual("pytorch", model.ProducerName);
        Assert.AreEqual(14L, model.OpsetImports[""]);
        Assert.IsGreaterThanOrEqualTo(7L, model.IrVersion);
    }

    [TestMethod]
    public void SaveIsAtomicAndNeverLeavesPartialFiles()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            var model = OnnxModel.Load(TestPaths.Model("fmnist_mobile"));
            string missingFolder = Path.Combine(dir, "no", "such", "m.onnx");
            Assert.ThrowsExactly<DirectoryNotFoundException>(() => model.Save(missingFolder));
            Assert.IsFalse(Directory.Exists(Path.Combine(dir, "no")));

            string target = Path.Combine(dir, "m.onnx");
            File.WriteAllText(target, "old content");
            // an invalid external-data file name fails after the save has started: the old file must survive untouched
            Assert.ThrowsExactly<ArgumentException>(() => model.Save(target, new OnnxSaveOptions { UseExternalData = true, ExternalDataFileName = "../escape.data" }));
            Assert.AreEqual("old content", File.ReadAllText(target));
            CollectionAssert.AreEqual(new[] { "m.onnx" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
