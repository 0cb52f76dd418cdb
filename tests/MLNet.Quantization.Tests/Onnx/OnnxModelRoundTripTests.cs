using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class OnnxModelRoundTripTests
{
    public static IEnumerable<object[]> ModelsAndSources()
    {
        foreach (var model in OnnxTestData.SharedModels)
        {
            foreach (var source in new[] { "path", "stream", "bytes" })
            {
                yield return [model, source];
            }
        }
    }

    [TestMethod]
    [DynamicData(nameof(ModelsAndSources))]
    public void LoadThenSave_GivesTheFileBytes(string name, string source)
    {
        var path = OnnxTestData.ModelPath(name);
        var original = File.ReadAllBytes(path);
        OnnxModel model;
        switch (source)
        {
            case "path":
                model = OnnxModel.Load(path);
                Assert.AreEqual(path, model.SourceName);
                Assert.AreEqual(Path.GetDirectoryName(Path.GetFullPath(path)), model.BaseDirectory);
                break;
            case "stream":
                using (var stream = File.OpenRead(path))
                {
                    model = OnnxModel.Load(stream);
                }

                Assert.IsNull(model.SourceName);
                break;
            default:
                model = OnnxModel.Load(original, name);
                Assert.AreEqual(name, model.SourceName);
                break;
        }

        CollectionAssert.AreEqual(original, model.ToBytes(), "ToBytes");

        using var saved = new MemoryStream();
        model.Save(saved);
        CollectionAssert.AreEqual(original, saved.ToArray(), "Save(Stream)");

        using var dir = new TempDirectory();
        var target = dir.File(name + ".onnx");
        model.Save(target);
        CollectionAssert.AreEqual(original, File.ReadAllBytes(target), "Save(path)");
        CollectionAssert.AreEqual(new[] { name + ".onnx" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName).ToArray(), "only the model file is written");
    }

    [TestMethod]
    public void LoadFromNonSeekableStream_GivesTheFileBytes()
    {
        var original = OnnxTestData.ModelBytes("fmnist_mobile");
        using var stream = new NonSeekableStream(original);
        var model = OnnxModel.Load(stream, "piped");
        CollectionAssert.AreEqual(original, model.ToBytes());
    }

    [TestMethod]
    [DataRow("fmnist_cnn", 13L)]
    [DataRow("fmnist_rowtf", 14L)]
    [DataRow("fmnist_mobile", 13L)]
    public void SharedModels_ExposeHeaderFields(string name, long opset)
    {
        // Read from the files with protoc --decode: ir_version 7, producer "pytorch" 1.13.0, one opset import with
        // no domain (the default ONNX domain), no metadata.
        var model = OnnxModel.Load(OnnxTestData.ModelPath(name));
        Assert.AreEqual(7L, model.IrVersion);
        Assert.AreEqual("pytorch", model.ProducerName);
        Assert.HasCount(1, model.OpsetImports);
        Assert.AreEqual(opset, model.OpsetImports[""]);
        Assert.IsEmpty(model.MetadataProps);
    }

    [TestMethod]
    public void UneditedModel_KeepsDocStringsMetadataOpsetsAndUnknownFields()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.DocString = "model doc";
        proto.ProducerName = "hand";
        proto.ProducerVersion = "0.1";
        proto.Domain = "org.example";
        proto.ModelVersion = 42;
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "author", Value = "tests" });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "license", Value = "MIT" });
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        proto.Graph.DocString = "graph doc";
        proto.Graph.Node[0].DocString = "node doc";
        proto.Graph.Initializer[0].DocString = "weight doc";
        proto.Graph.ValueInfo.Add(OnnxTestData.FloatValue("Y", 1, 3));

        // Field 99 (varint 7) is not in the schema: tag (99 << 3) | 0 = 792 = varint 0x98 0x06.
        var bytes = proto.ToByteArray().Concat(new byte[] { 0x98, 0x06, 0x07 }).ToArray();

        var model = OnnxModel.Load(bytes, "doc.onnx");
        CollectionAssert.AreEqual(bytes, model.ToBytes());
        Assert.AreEqual(8L, model.IrVersion);
        Assert.AreEqual("hand", model.ProducerName);
        Assert.AreEqual(2, model.OpsetImports.Count);
        Assert.AreEqual(13L, model.OpsetImports[""]);
        Assert.AreEqual(1L, model.OpsetImports["com.microsoft"]);
        Assert.AreEqual("tests", model.MetadataProps["author"]);
        Assert.AreEqual("MIT", model.MetadataProps["license"]);
        Assert.AreEqual("model doc", model.Proto.DocString);
        Assert.AreEqual("graph doc", model.Proto.Graph.DocString);
        Assert.AreEqual("node doc", model.Proto.Graph.Node[0].DocString);
        Assert.AreEqual("weight doc", model.Proto.Graph.Initializer[0].DocString);

        using var dir = new TempDirectory();
        model.Save(dir.File("doc.onnx"));
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(dir.File("doc.onnx")));
    }

    [TestMethod]
    public void AiOnnxDomain_IsReportedAsTheDefaultDomain()
    {
        var proto = OnnxTestData.ReluModel();
        proto.OpsetImport[0].Domain = "ai.onnx";
        var model = OnnxModel.Load(proto.ToByteArray());
        Assert.AreEqual(13L, model.OpsetImports[""]);
        Assert.IsFalse(model.OpsetImports.ContainsKey("ai.onnx"));
    }

    [TestMethod]
    public void ExplicitDefaultDataLocation_SurvivesASave()
    {
        // data_location DEFAULT (0) written explicitly is a field on the wire; a save must keep it.
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[0].DataLocation = TensorProto.Types.DataLocation.Default;
        var bytes = proto.ToByteArray();
        var model = OnnxModel.Load(bytes);
        CollectionAssert.AreEqual(bytes, model.ToBytes());
    }

    private sealed class NonSeekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 1000));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
