using MLNet.Quantization.Onnx;
using MLNet.Quantization.Tests.Onnx;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// What the CLI's SIGINT/SIGTERM handler does: every save in progress loses its temporary file, the destination is
/// never written, and the interrupted writer fails to commit instead of publishing a file.
/// </summary>
[TestClass]
public sealed class SignalCleanupTests
{
    [TestMethod]
    public void DeleteAllPending_RemovesTemporaryFilesOfSavesInProgress()
    {
        using var dir = new TempDirectory();
        var destination = dir.File("out.onnx");
        using var first = PendingFile.Create(destination);
        using var second = PendingFile.Create(dir.File("out.onnx.data"));
        first.Stream.Write(new byte[1 << 20]);
        second.Stream.Write(new byte[1000]);
        Assert.HasCount(2, Directory.GetFiles(dir.Path, "*.tmp"));

        PendingFile.DeleteAllPending();

        Assert.IsEmpty(Directory.GetFiles(dir.Path));
        Assert.ThrowsExactly<FileNotFoundException>(first.Commit);
        Assert.IsFalse(File.Exists(destination));
    }

    [TestMethod]
    public void DeleteAllPending_LeavesCommittedFilesAlone()
    {
        using var dir = new TempDirectory();
        var destination = dir.File("kept.bin");
        PendingFile.Write(destination, s => s.Write([1, 2, 3]));
        PendingFile.DeleteAllPending();
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, File.ReadAllBytes(destination));
    }
}
