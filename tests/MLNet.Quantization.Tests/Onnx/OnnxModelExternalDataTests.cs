using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class OnnxModelExternalDataTests
{
    private static float[] RunMatMul(string path)
    {
        using var session = new InferenceSession(path);
        using var x = OrtValue.CreateTensorValueFromMemory(new[] { 1f, 2f, 3f, 4f }, new long[] { 1, 4 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { "X" }, new[] { x }, new[] { "Z" });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static TensorProto Initializer(OnnxModel model, string name) =>
        model.Proto.Graph.Initializer.Single(t => t.Name == name);

    [TestMethod]
    public void SaveWithExternalData_WritesTheDataFileAndOrtRunsIt()
    {
        using var dir = new TempDirectory();
        var path = dir.File("tiny.onnx");
        var model = OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray(), "tiny");

        // W is 12 floats = 48 bytes (≥ 16: external); B is 3 floats = 12 bytes (< 16: stays inline).
        model.Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 16 });

        var dataPath = dir.File("tiny.onnx.data");
        Assert.IsTrue(File.Exists(dataPath));
        var written = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var w = written.Graph.Initializer[0];
        Assert.AreEqual(TensorProto.Types.DataLocation.External, w.DataLocation);
        Assert.IsFalse(w.HasRawData);
        Assert.AreEqual("tiny.onnx.data", OnnxTestData.ExternalEntry(w, "location"));
        Assert.AreEqual("0", OnnxTestData.ExternalEntry(w, "offset"));
        Assert.AreEqual("48", OnnxTestData.ExternalEntry(w, "length"));
        CollectionAssert.AreEqual(OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight), File.ReadAllBytes(dataPath));
        var b = written.Graph.Initializer[1];
        Assert.IsFalse(b.HasDataLocation);
        Assert.AreEqual(12, b.RawData.Length);

        // Z = X·W + B = (4, 7, 1) + (1, 2, 3), worked out in OnnxTestData.MatMulModel.
        CollectionAssert.AreEqual(new[] { 5f, 9f, 4f }, RunMatMul(path));

        var reloaded = OnnxModel.Load(path);
        CollectionAssert.AreEqual(OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight), reloaded.GetRawData(Initializer(reloaded, "W")).ToArray());
        CollectionAssert.AreEqual(OnnxTestData.FloatBytes(1f, 2f, 3f), reloaded.GetRawData(Initializer(reloaded, "B")).ToArray());
        Assert.IsTrue(reloaded.UsesExternalData);
    }

    [TestMethod]
    public void ExternalOffsets_AreAligned()
    {
        // Two external tensors: W (48 bytes) at 0, then B (12 bytes) at the next multiple of 64.
        using var dir = new TempDirectory();
        var path = dir.File("aligned.onnx");
        OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray()).Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 0, ExternalDataFileName = "weights.bin" });
        var written = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.AreEqual("weights.bin", OnnxTestData.ExternalEntry(written.Graph.Initializer[1], "location"));
        Assert.AreEqual("64", OnnxTestData.ExternalEntry(written.Graph.Initializer[1], "offset"));
        Assert.AreEqual(64L + 12L, new FileInfo(dir.File("weights.bin")).Length);
        CollectionAssert.AreEqual(new[] { 5f, 9f, 4f }, RunMatMul(path));
    }

    [TestMethod]
    public void HandWrittenExternalModel_RoundTripsAndInlines()
    {
        // A model whose W sits at offset 10 of a file with 10 bytes of padding before it, as another tool might write.
        using var dir = new TempDirectory();
        var weight = OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight);
        File.WriteAllBytes(dir.File("w.bin"), new byte[10].Concat(weight).Concat(new byte[5]).ToArray());
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "w.bin", 10, 48);
        File.WriteAllBytes(dir.File("m.onnx"), proto.ToByteArray());

        var model = OnnxModel.Load(dir.File("m.onnx"));
        CollectionAssert.AreEqual(weight, model.GetRawData(Initializer(model, "W")).ToArray());
        CollectionAssert.AreEqual(new[] { 5f, 9f, 4f }, RunMatMul(dir.File("m.onnx")));

        // Saved without external data, the bytes come back inline and equal the all-inline model.
        CollectionAssert.AreEqual(OnnxTestData.MatMulModel().ToByteArray(), model.ToBytes());
        using var inline = new TempDirectory();
        model.Save(inline.File("m.onnx"));
        CollectionAssert.AreEqual(OnnxTestData.MatMulModel().ToByteArray(), File.ReadAllBytes(inline.File("m.onnx")));
    }

    [TestMethod]
    public void ExternalDataWithoutOffsetOrLength_MeansTheWholeFile()
    {
        using var dir = new TempDirectory();
        var weight = OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight);
        File.WriteAllBytes(dir.File("W"), weight);
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "W", null, null);
        var model = OnnxModel.Load(proto.ToByteArray(), "m", dir.Path);
        CollectionAssert.AreEqual(weight, model.GetRawData(Initializer(model, "W")).ToArray());
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    [DataRow("fmnist_mobile")]
    public void SharedModel_InlineToExternalAndBack_IsLossless(string name)
    {
        var original = OnnxTestData.ModelBytes(name);
        var inline = OnnxModel.Load(OnnxTestData.ModelPath(name));
        using var dir = new TempDirectory();
        var externalPath = dir.File(name + ".onnx");
        inline.Save(externalPath, new OnnxSaveOptions { UseExternalData = true });

        var external = OnnxModel.Load(externalPath);
        var movedCount = 0;
        foreach (var tensor in inline.Proto.Graph.Initializer)
        {
            var copy = Initializer(external, tensor.Name);
            var isExternal = copy.DataLocation == TensorProto.Types.DataLocation.External;
            Assert.AreEqual(tensor.RawData.Length >= 1024, isExternal, tensor.Name);
            movedCount += isExternal ? 1 : 0;
            CollectionAssert.AreEqual(tensor.RawData.ToByteArray(), external.GetRawData(copy).ToArray(), tensor.Name);
        }

        Assert.IsGreaterThan(0, movedCount);
        Assert.IsLessThan(original.Length / 2, new FileInfo(externalPath).Length, "the weights left the model file");

        // Back inline: the exact original bytes, from ToBytes and from a save.
        CollectionAssert.AreEqual(original, external.ToBytes());
        var backPath = dir.File("back.onnx");
        external.Save(backPath);
        CollectionAssert.AreEqual(original, File.ReadAllBytes(backPath));
    }

    [TestMethod]
    public void SharedModel_WithExternalData_RunsInOrtLikeTheOriginal()
    {
        using var dir = new TempDirectory();
        var externalPath = dir.File("cnn.onnx");
        OnnxModel.Load(OnnxTestData.ModelPath("fmnist_cnn")).Save(externalPath, new OnnxSaveOptions { UseExternalData = true });

        var input = new float[2 * 28 * 28];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = ((i * 37) % 255 / 255f - 0.2860f) / 0.3530f;
        }

        // The same weights in the same graph: ORT must give identical logits.
        CollectionAssert.AreEqual(RunLogits(OnnxTestData.ModelPath("fmnist_cnn"), input), RunLogits(externalPath, input));
    }

    private static float[] RunLogits(string path, float[] input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        using var x = OrtValue.CreateTensorValueFromMemory(input, new long[] { 2, 1, 28, 28 });
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new[] { "input" }, new[] { x }, new[] { "logits" });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [TestMethod]
    public void ExternalSource_IsCopiedInChunksToANewFolder()
    {
        using var first = new TempDirectory();
        OnnxModel.Load(OnnxTestData.ModelPath("fmnist_mobile")).Save(first.File("m.onnx"), new OnnxSaveOptions { UseExternalData = true });
        var fromFirst = OnnxModel.Load(first.File("m.onnx"));

        // A 7-byte buffer makes every tensor take many chunks, and 7 does not divide any tensor size.
        using var second = new TempDirectory();
        fromFirst.Save(second.File("copy.onnx"), new OnnxSaveOptions { UseExternalData = true, CopyBufferSize = 7 });
        Directory.Delete(first.Path, recursive: true);

        var copy = OnnxModel.Load(second.File("copy.onnx"));
        var original = OnnxModel.Load(OnnxTestData.ModelPath("fmnist_mobile"));
        foreach (var tensor in original.Proto.Graph.Initializer)
        {
            CollectionAssert.AreEqual(tensor.RawData.ToByteArray(), copy.GetRawData(Initializer(copy, tensor.Name)).ToArray(), tensor.Name);
        }

        CollectionAssert.AreEqual(OnnxTestData.ModelBytes("fmnist_mobile"), copy.ToBytes());
    }

    [TestMethod]
    public void SavingOverItsOwnDataFile_KeepsTheModelReadable()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.onnx");
        OnnxModel.Load(OnnxTestData.ModelPath("fmnist_mobile")).Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 4096 });
        var model = OnnxModel.Load(path);

        // Rewrite the same files with a lower threshold: offsets change, and the data file is replaced under the model.
        model.Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 0 });

        var original = OnnxModel.Load(OnnxTestData.ModelPath("fmnist_mobile"));
        var reloaded = OnnxModel.Load(path);
        foreach (var tensor in original.Proto.Graph.Initializer)
        {
            var expected = tensor.RawData.ToByteArray();
            CollectionAssert.AreEqual(expected, model.GetRawData(Initializer(model, tensor.Name)).ToArray(), "in-memory " + tensor.Name);
            CollectionAssert.AreEqual(expected, reloaded.GetRawData(Initializer(reloaded, tensor.Name)).ToArray(), "reloaded " + tensor.Name);
        }

        // And back to inline in place: the in-memory model still reads the data after its data file is replaced again.
        model.Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 1 << 30 });
        CollectionAssert.AreEqual(OnnxTestData.ModelBytes("fmnist_mobile"), model.ToBytes());
        CollectionAssert.AreEqual(OnnxTestData.ModelBytes("fmnist_mobile"), File.ReadAllBytes(path));
    }

    [TestMethod]
    public void ProtobufOverTheLimit_AsksForExternalData()
    {
        // The limit is lowered to 100,000 bytes so that fmnist_mobile (160,745 bytes) is over it.
        var model = OnnxModel.Load(OnnxTestData.ModelPath("fmnist_mobile"));
        using var dir = new TempDirectory();
        var path = dir.File("big.onnx");
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => model.Save(path, new OnnxSaveOptions { MaxProtobufBytes = 100_000 }));
        Assert.Contains("UseExternalData = true", ex.Message);
        Assert.Contains("100,000", ex.Message);
        Assert.IsEmpty(Directory.GetFiles(dir.Path));

        model.Save(path, new OnnxSaveOptions { MaxProtobufBytes = 100_000, UseExternalData = true });
        Assert.IsLessThan(100_000L, new FileInfo(path).Length);
    }

    [TestMethod]
    public void TensorOverTwoGigabytes_GetsClearErrors()
    {
        // A 3 GiB UINT8 tensor in a sparse file: nothing is read or allocated, only sizes are compared.
        using var dir = new TempDirectory();
        const long size = 3L << 30;
        using (var file = new FileStream(dir.File("huge.bin"), FileMode.CreateNew))
        {
            file.SetLength(size);
        }

        var proto = OnnxTestData.ReluModel();
        var huge = new TensorProto { Name = "huge", DataType = 2, Dims = { size } };
        proto.Graph.Initializer.Add(OnnxTestData.External(huge, "huge.bin", 0, size));
        File.WriteAllBytes(dir.File("m.onnx"), proto.ToByteArray());

        var model = OnnxModel.Load(dir.File("m.onnx"));
        var read = Assert.ThrowsExactly<OnnxFormatException>(() => model.GetRawData(model.Proto.Graph.Initializer[0]));
        Assert.Contains("tensor 'huge'", read.Message);
        Assert.Contains("3221225472 bytes", read.Message);

        var inline = Assert.ThrowsExactly<OnnxFormatException>(() => model.ToBytes());
        Assert.Contains("over the protobuf limit", inline.Message);
        Assert.Contains("UseExternalData = true", inline.Message);
    }

    [TestMethod]
    public void MissingExternalFile()
    {
        using var dir = new TempDirectory();
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "gone.bin", 0, 48);
        File.WriteAllBytes(dir.File("m.onnx"), proto.ToByteArray());
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(dir.File("m.onnx")));
        Assert.Contains(dir.File("m.onnx"), ex.Message);
        Assert.Contains("tensor 'W'", ex.Message);
        Assert.Contains("'gone.bin', which does not exist", ex.Message);
    }

    [TestMethod]
    [DataRow(0L, 52L, "past the end")]
    [DataRow(60L, 48L, "past the end")]
    [DataRow(4L, 44L, "44 bytes of external data")]
    public void ExternalSegmentOutOfBoundsOrWrongSize(long offset, long length, string expected)
    {
        // The file holds exactly W's 48 bytes.
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("w.bin"), OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight));
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "w.bin", offset, length);
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(proto.ToByteArray(), "m.onnx", dir.Path));
        Assert.Contains("tensor 'W'", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [TestMethod]
    [DataRow("../w.bin", "'..'")]
    [DataRow("sub/../../w.bin", "'..'")]
    [DataRow("/etc/passwd", "absolute")]
    [DataRow("C:\\w.bin", "absolute")]
    [DataRow("", "no 'location'")]
    public void ExternalLocationsOutsideTheFolder_AreRejected(string location, string expected)
    {
        using var dir = new TempDirectory();
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], location, 0, 48);
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(proto.ToByteArray(), "m.onnx", dir.Path));
        Assert.Contains(expected, ex.Message);
    }

    [TestMethod]
    [DataRow("offset", "-5")]
    [DataRow("offset", "abc")]
    [DataRow("length", "12.5")]
    public void MalformedExternalNumbers(string key, string value)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("w.bin"), OnnxTestData.FloatBytes(OnnxTestData.MatMulWeight));
        var proto = OnnxTestData.MatMulModel();
        var w = OnnxTestData.External(proto.Graph.Initializer[0], "w.bin", null, null);
        w.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(proto.ToByteArray(), "m.onnx", dir.Path));
        Assert.Contains($"{key} '{value}'", ex.Message);
    }

    [TestMethod]
    public void ExternalDataWithoutABaseDirectory()
    {
        var proto = OnnxTestData.MatMulModel();
        OnnxTestData.External(proto.Graph.Initializer[0], "w.bin", 0, 48);
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(proto.ToByteArray()));
        Assert.Contains("<bytes>", ex.Message);
        Assert.Contains("no base directory", ex.Message);
    }

    [TestMethod]
    public void ExternalFileShrunkAfterLoad_IsAFormatErrorOnRead()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.onnx");
        OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray()).Save(path, new OnnxSaveOptions { UseExternalData = true, SizeThreshold = 16 });
        var model = OnnxModel.Load(path);
        File.WriteAllBytes(dir.File("m.onnx.data"), new byte[8]);
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => model.GetRawData(model.Proto.Graph.Initializer[0]));
        Assert.Contains("past the end", ex.Message);
    }

    [TestMethod]
    [DataRow("../out.data")]
    [DataRow("/tmp/out.data")]
    [DataRow("m.onnx")]
    public void BadExternalDataFileName_IsAnArgumentError(string fileName)
    {
        using var dir = new TempDirectory();
        var model = OnnxModel.Load(OnnxTestData.MatMulModel().ToByteArray());
        Assert.ThrowsExactly<ArgumentException>(() => model.Save(dir.File("m.onnx"), new OnnxSaveOptions { UseExternalData = true, ExternalDataFileName = fileName }));
        Assert.IsEmpty(Directory.GetFiles(dir.Path));
    }

    [TestMethod]
    public void NegativeSizeThreshold_IsRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new OnnxSaveOptions { SizeThreshold = -1 });
    }
}
