using Google.Protobuf;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class OnnxModelSaveTests
{
    [TestMethod]
    public void SaveIntoMissingFolder_FailsAndCreatesNothing()
    {
        using var dir = new TempDirectory();
        var missing = Path.Combine(dir.Path, "no", "such");
        var model = OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray());
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => model.Save(Path.Combine(missing, "m.onnx")));
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => model.Save(Path.Combine(missing, "m.onnx"), new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 0 }));
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "no")));
        Assert.IsEmpty(Directory.GetFileSystemEntries(dir.Path));
    }

    [TestMethod]
    public void FailingWrite_LeavesTheOldFileAndNoTemporaryFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.onnx");
        var old = "old content"u8.ToArray();
        File.WriteAllBytes(path, old);

        var ex = Assert.ThrowsExactly<IOException>(() => PendingFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new IOException("disk full");
        }));

        Assert.AreEqual("disk full", ex.Message);
        CollectionAssert.AreEqual(old, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { "m.onnx" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void FailingSaveThroughTheModel_LeavesTheOldFiles()
    {
        // The model's external data disappears after loading, so its save fails while reading the weights.
        using var source = new TempDirectory();
        OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray()).Save(source.File("m.onnx"), new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 16 });
        var model = OnnxModel.Load(source.File("m.onnx"));
        File.Delete(source.File("m.onnx.data"));

        using var target = new TempDirectory();
        var path = target.File("out.onnx");
        var dataPath = target.File("out.onnx.data");
        File.WriteAllBytes(path, [1, 2, 3]);
        File.WriteAllBytes(dataPath, [4, 5, 6]);
        Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 16 }));
        Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(path));
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new byte[] { 4, 5, 6 }, File.ReadAllBytes(dataPath));
        Assert.HasCount(2, Directory.GetFiles(target.Path));
    }

    [TestMethod]
    public void SaveOverAnExistingFile_ReplacesIt()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.onnx");
        File.WriteAllBytes(path, new byte[1_000_000]);
        var bytes = OnnxTestData.ModelBytes("fmnist_mobile");
        OnnxModel.Load(bytes).Save(path);
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(path));
        Assert.HasCount(1, Directory.GetFiles(dir.Path));
    }

    [TestMethod]
    public void PendingFileDisposedWithoutCommit_LeavesNothing()
    {
        using var dir = new TempDirectory();
        using (var pending = PendingFile.Create(dir.File("x.bin")))
        {
            pending.Stream.Write([1, 2, 3]);
            Assert.IsTrue(File.Exists(pending.TemporaryPath));
            Assert.AreEqual(dir.Path, Path.GetDirectoryName(pending.TemporaryPath));
        }

        Assert.IsEmpty(Directory.GetFiles(dir.Path));
    }
}
