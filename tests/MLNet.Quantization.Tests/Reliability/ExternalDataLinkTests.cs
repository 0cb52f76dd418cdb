using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Tests.Onnx;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Hostile external-data locations: symbolic links (to files and folders) that lead out of the model's folder,
/// FIFOs, devices and directories. The canary file's bytes must never reach a loaded tensor or an output.
/// </summary>
[TestClass]
public sealed class ExternalDataLinkTests
{
    private static readonly byte[] Canary = Encoding.ASCII.GetBytes("CANARY-CANARY-CANARY-CANARY-CANARY-CANARY-CANARY!");

    private static string WriteModel(TempDirectory dir, string location)
    {
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], location, 0, 48);
        var path = dir.File("m.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    private static OnnxFormatException LoadFails(string modelPath)
    {
        // Run on a worker with a deadline: a FIFO opened by mistake would block forever.
        var load = Task.Run(() => Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(modelPath)));
        Assert.IsTrue(load.Wait(TimeSpan.FromSeconds(30)), "loading hung (opened a FIFO?)");
        Assert.DoesNotContain(Encoding.ASCII.GetString(Canary), load.Result.Message);
        return load.Result;
    }

    [TestMethod]
    public void FileLinkOutsideTheFolder_IsRejected_EvenWithAPaddedTarget()
    {
        using var outside = new TempDirectory();
        using var dir = new TempDirectory();
        var canary = outside.File("canary.bin");
        File.WriteAllBytes(canary, Canary);

        // Pad the target so the link's own text is as long as the canary file: a length check cannot tell them apart.
        var padded = canary.Replace("/canary.bin", "/////////canary.bin", StringComparison.Ordinal);
        File.CreateSymbolicLink(dir.File("w.bin"), padded);

        var ex = LoadFails(WriteModel(dir, "w.bin"));
        Assert.Contains("outside the model's folder", ex.Message);
        Assert.Contains("'W'", ex.Message);
    }

    [TestMethod]
    public void DirectoryLinkOutsideTheFolder_IsRejected()
    {
        using var outside = new TempDirectory();
        using var dir = new TempDirectory();
        File.WriteAllBytes(outside.File("w.bin"), Canary);
        Directory.CreateSymbolicLink(dir.File("lnk"), outside.Path);

        var ex = LoadFails(WriteModel(dir, "lnk/w.bin"));
        Assert.Contains("outside the model's folder", ex.Message);
    }

    [TestMethod]
    public void ChainedLinksLeavingTheFolder_AreRejected()
    {
        using var outside = new TempDirectory();
        using var dir = new TempDirectory();
        File.WriteAllBytes(outside.File("w.bin"), Canary);
        Directory.CreateDirectory(dir.File("sub"));
        Directory.CreateSymbolicLink(dir.File("sub/up"), "..");
        Directory.CreateSymbolicLink(dir.File("escape"), outside.Path);

        // sub/up resolves to the folder itself, then escape leaves it: only resolving every component catches this.
        var ex = LoadFails(WriteModel(dir, "sub/up/escape/w.bin"));
        Assert.Contains("outside the model's folder", ex.Message);
    }

    [TestMethod]
    public void LinkToADevice_IsRejectedWithoutReading()
    {
        using var dir = new TempDirectory();
        File.CreateSymbolicLink(dir.File("w.bin"), "/dev/zero");
        var ex = LoadFails(WriteModel(dir, "w.bin"));
        Assert.Contains("outside the model's folder", ex.Message);
    }

    [TestMethod]
    public void Fifo_IsRejectedBeforeOpening()
    {
        using var dir = new TempDirectory();
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", dir.File("w.bin")) { UseShellExecute = false })!)
        {
            mkfifo.WaitForExit();
            Assert.AreEqual(0, mkfifo.ExitCode);
        }

        var ex = LoadFails(WriteModel(dir, "w.bin"));
        Assert.Contains("FIFO", ex.Message);
    }

    [TestMethod]
    public void Directory_IsRejected()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("w.bin"));
        var ex = LoadFails(WriteModel(dir, "w.bin"));
        Assert.Contains("directory", ex.Message);
    }

    [TestMethod]
    public void LinksThatStayInside_AreFollowed()
    {
        // A link inside the folder to a file inside the folder, and a model folder reached through a link: both fine.
        using var outside = new TempDirectory();
        using var dir = new TempDirectory();
        var weight = OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight);
        Directory.CreateDirectory(dir.File("data"));
        File.WriteAllBytes(dir.File("data/real.bin"), weight);
        File.CreateSymbolicLink(dir.File("w.bin"), "data/real.bin");
        WriteModel(dir, "w.bin");
        var linkedFolder = outside.File("model-folder");
        Directory.CreateSymbolicLink(linkedFolder, dir.Path);

        var model = OnnxModel.Load(Path.Combine(linkedFolder, "m.onnx"));
        CollectionAssert.AreEqual(weight, model.GetRawData(model.Proto.Graph.Initializer[0]).ToArray());
    }
}
