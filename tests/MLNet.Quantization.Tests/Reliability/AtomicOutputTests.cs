using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// An interrupted or failed export never leaves a partial file: the destination is absent or untouched and no
/// temporary file remains, for <see cref="OnnxModel.Save(string, OnnxSaveOptions?)"/> (with and without external data),
/// <see cref="QuantizedModelTransformer.ExportOnnx(string)"/> and stream exports (the CLI's output paths are tested in
/// MLNet.Quantization.Cli.Tests, OutputPathTests).
/// </summary>
[TestClass]
public sealed class AtomicOutputTests
{
    private string _dir = null!;

    /// <summary>A stream that takes <paramref name="capacity"/> bytes and then fails, as a full disk does.</summary>
    private sealed class FailingStream(int capacity) : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Length + buffer.Length > capacity)
                throw new IOException("No space left on device");
            base.Write(buffer);
        }
    }

    [TestInitialize]
    public void CreateFolder() => _dir = TestPaths.NewTempDirectory();

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private string[] Leftovers() => Directory.GetFiles(_dir, "*.tmp*", SearchOption.AllDirectories);

    [TestMethod]
    public void AWriteFailingHalfwayLeavesNoFileAndAnExistingFileUntouched()
    {
        string fresh = Path.Combine(_dir, "fresh.onnx");
        string existing = Path.Combine(_dir, "existing.onnx");
        File.WriteAllText(existing, "old content");
        foreach (var path in new[] { fresh, existing })
        {
            Assert.ThrowsExactly<IOException>(() => PendingFile.Write(path, stream =>
            {
                stream.Write(new byte[100_000]);
                throw new IOException("No space left on device");
            }));
        }

        Assert.IsFalse(File.Exists(fresh));
        Assert.AreEqual("old content", File.ReadAllText(existing));
        Assert.IsEmpty(Leftovers());
    }

    [TestMethod]
    public void ExternalDataThatShrinksMidSaveLeavesTheDestinationUntouched()
    {
        // A model with its weights in an external file; the file is cut after loading, so the save fails while copying it.
        string source = Path.Combine(_dir, "source.onnx");
        OnnxModel.Load(TestPaths.Model("fmnist_cnn")).Save(source, new OnnxSaveOptions { UseExternalData = true });
        var model = OnnxModel.Load(source);
        string data = source + ".data";
        using (var file = new FileStream(data, FileMode.Open))
            file.SetLength(file.Length / 2);

        string destination = Path.Combine(_dir, "out.onnx");
        File.WriteAllText(destination, "old model");
        Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(destination, new OnnxSaveOptions { UseExternalData = true }));
        Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(destination));
        Assert.AreEqual("old model", File.ReadAllText(destination));
        Assert.IsFalse(File.Exists(destination + ".data"));
        Assert.IsEmpty(Leftovers());

        using var stream = new MemoryStream();
        Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(stream));
        Assert.AreEqual(0L, stream.Length, "a failed stream export writes nothing");
    }

    [TestMethod]
    public void ADestinationThatCannotBeReplacedIsUntouchedAndNoTemporaryFileRemains()
    {
        string folderInTheWay = Path.Combine(_dir, "model.onnx");
        Directory.CreateDirectory(folderInTheWay);
        File.WriteAllText(Path.Combine(folderInTheWay, "keep.txt"), "keep");
        var quantized = FlowQuantized();
        var error = Assert.Throws<Exception>(() => quantized.Save(folderInTheWay));
        Assert.IsTrue(error is IOException or UnauthorizedAccessException, error.ToString());
        Assert.AreEqual("keep", File.ReadAllText(Path.Combine(folderInTheWay, "keep.txt")));
        Assert.IsEmpty(Leftovers());
    }

    [TestMethod]
    public void TransformerExportIsAtomicToAPathAndAllOrNothingToAStream()
    {
        var ml = new MLContext(seed: 1);
        using var transformer = ml.Transforms.Quantize(new QuantizationOptions { ModelBytes = TinyMatMulRows.Model(3) }).Fit(TinyMatMulRows.View(ml, 8, 3));

        string folderInTheWay = Path.Combine(_dir, "export.onnx");
        Directory.CreateDirectory(folderInTheWay);
        Assert.Throws<Exception>(() => transformer.ExportOnnx(folderInTheWay));
        Assert.IsTrue(Directory.Exists(folderInTheWay));
        Assert.IsEmpty(Leftovers());

        using var full = new FailingStream(capacity: 64);
        Assert.ThrowsExactly<IOException>(() => transformer.ExportOnnx(full));
        Assert.AreEqual(0L, full.Length, "the model goes to the stream in one write, so a failing stream gets nothing");

        string good = Path.Combine(_dir, "good.onnx");
        transformer.ExportOnnx(good);
        Assert.AreEqual("Y", OnnxModel.Load(good).Proto.Graph.Output[0].Name);
        Assert.IsEmpty(Leftovers());
    }

    private static QuantizedModel FlowQuantized()
    {
        var quantizer = new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true));
        return QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_rowtf")), quantizer).Convert();
    }
}
