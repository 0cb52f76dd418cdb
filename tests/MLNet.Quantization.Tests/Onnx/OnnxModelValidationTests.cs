using System.Diagnostics;
using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class OnnxModelValidationTests
{
    private static OnnxFormatException LoadFails(ModelProto proto, string name = "bad.onnx") =>
        Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(proto.ToByteArray(), name));

    private static void AssertMessage(OnnxFormatException ex, params string[] parts)
    {
        foreach (var part in parts)
        {
            Assert.Contains(part, ex.Message);
        }
    }

    [TestMethod]
    public void EmptyInput_NamesTheSource()
    {
        var fromBytes = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(Array.Empty<byte>()));
        AssertMessage(fromBytes, "<bytes>", "empty");
        Assert.AreEqual("<bytes>", fromBytes.ModelName);

        var fromStream = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(new MemoryStream()));
        AssertMessage(fromStream, "<stream>", "empty");

        using var dir = new TempDirectory();
        var path = dir.File("empty.onnx");
        File.WriteAllBytes(path, []);
        var fromFile = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(path));
        AssertMessage(fromFile, path, "empty");
    }

    [TestMethod]
    public void MissingFile_IsAnIOError()
    {
        Assert.ThrowsExactly<FileNotFoundException>(() => OnnxModel.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".onnx")));
    }

    [TestMethod]
    public void TruncatedModel_IsAFormatError()
    {
        var bytes = OnnxTestData.ModelBytes("fmnist_cnn");
        var half = bytes.AsSpan(0, bytes.Length / 2).ToArray();
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(half, "cut.onnx"));
        AssertMessage(ex, "cut.onnx", "not a valid ONNX protobuf");
        Assert.IsInstanceOfType<InvalidProtocolBufferException>(ex.InnerException);
    }

    [TestMethod]
    public void ModelCutAfterTheGraph_LacksOpsetImports()
    {
        // PyTorch writes ir_version (1), producer fields (2, 3), graph (7), then opset_import (8). A cut right after
        // the graph parses, but the opset imports are gone.
        var proto = ModelProto.Parser.ParseFrom(OnnxTestData.ModelBytes("fmnist_mobile"));
        proto.OpsetImport.Clear();
        AssertMessage(LoadFails(proto), "bad.onnx", "opset_import is empty");
    }

    [TestMethod]
    public void GarbageBytes_AreAFormatError()
    {
        var random = new Random(1234);
        for (var i = 0; i < 50; i++)
        {
            var garbage = new byte[random.Next(1, 5000)];
            random.NextBytes(garbage);
            var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(garbage, "garbage.bin"));
            Assert.StartsWith("garbage.bin: ", ex.Message);
        }

        var text = "this is not an onnx model\n"u8.ToArray();
        Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(text));
    }

    [TestMethod]
    public void MissingGraph()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph = null;
        AssertMessage(LoadFails(proto), "bad.onnx", "has no graph");
    }

    [TestMethod]
    public void MissingIrVersion()
    {
        var proto = OnnxTestData.ReluModel();
        proto.ClearIrVersion();
        AssertMessage(LoadFails(proto), "has no ir_version");
    }

    [TestMethod]
    public void DuplicateOpsetDomain()
    {
        var proto = OnnxTestData.ReluModel();
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx", Version = 14 });
        AssertMessage(LoadFails(proto), "more than once");
    }

    [TestMethod]
    public void DuplicateMetadataKey()
    {
        var proto = OnnxTestData.ReluModel();
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "k", Value = "1" });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "k", Value = "2" });
        AssertMessage(LoadFails(proto), "key 'k' twice");
    }

    [TestMethod]
    public void DanglingNodeInput_NamesNodeAndTensor()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Node[0].Input[0] = "nowhere";
        AssertMessage(LoadFails(proto), "bad.onnx", "graph 'relu'", "node 'relu' (Relu)", "'nowhere'");
    }

    [TestMethod]
    public void DanglingGraphOutput()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Output.Add(OnnxTestData.FloatValue("ghost", 2));
        AssertMessage(LoadFails(proto), "graph output 'ghost'");
    }

    [TestMethod]
    public void NodeWithoutOpType()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Node[0].ClearOpType();
        AssertMessage(LoadFails(proto), "has no op_type");
    }

    [TestMethod]
    public void EmptyOptionalInput_IsAccepted()
    {
        // Clip(X, "", max): the empty name marks the absent optional min input.
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Initializer.Add(OnnxTestData.RawFloatTensor("max", [], 6f));
        proto.Graph.Node.Add(OnnxTestData.Node("Clip", "clip", ["Y", "", "max"], ["Z"]));
        proto.Graph.Output[0].Name = "Z";
        var model = OnnxModel.Load(proto.ToByteArray());
        Assert.HasCount(2, model.Proto.Graph.Node);
    }

    [TestMethod]
    public void InitializerListedAsGraphInput_IsAccepted()
    {
        // Before IR version 4 every initializer was also a graph input; that is not a duplicate producer.
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Input.Add(OnnxTestData.FloatValue("W", 4, 3));
        var model = OnnxModel.Load(proto.ToByteArray());
        Assert.HasCount(2, model.Proto.Graph.Input);
    }

    private static ModelProto IfModel(string thenReads)
    {
        // If(cond) then Identity(thenReads) else Identity(X): both branches read outer-scope names.
        var proto = OnnxTestData.ReluModel();
        var graph = proto.Graph;
        graph.Input.Add(new ValueInfoProto { Name = "cond", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9 } } });
        var thenBranch = new GraphProto { Name = "then" };
        thenBranch.Node.Add(OnnxTestData.Node("Identity", "then_id", [thenReads], ["t_out"]));
        thenBranch.Output.Add(OnnxTestData.FloatValue("t_out", 2));
        var elseBranch = new GraphProto { Name = "else" };
        elseBranch.Node.Add(OnnxTestData.Node("Identity", "else_id", ["X"], ["e_out"]));
        elseBranch.Output.Add(OnnxTestData.FloatValue("e_out", 2));
        var ifNode = OnnxTestData.Node("If", "if", ["cond"], ["Z"]);
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenBranch });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseBranch });
        graph.Node.Add(ifNode);
        graph.Output.Add(OnnxTestData.FloatValue("Z", 2));
        return proto;
    }

    [TestMethod]
    public void SubgraphReadingOuterScope_IsAccepted()
    {
        var model = OnnxModel.Load(IfModel(thenReads: "Y").ToByteArray());
        Assert.AreEqual("If", model.Proto.Graph.Node[1].OpType);
    }

    [TestMethod]
    public void SubgraphReadingNothing_IsRejected()
    {
        AssertMessage(LoadFails(IfModel(thenReads: "nothing")), "attribute 'then_branch'", "node 'then_id' (Identity)", "'nothing'");
    }

    [TestMethod]
    public void TwoNodesProducingOneTensor()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Node.Add(OnnxTestData.Node("Sigmoid", "sig", ["X"], ["Y"]));
        AssertMessage(LoadFails(proto), "tensor 'Y' is produced twice", "node 'relu' (Relu)", "node 'sig' (Sigmoid)");
    }

    [TestMethod]
    public void NodeOverwritingAGraphInput()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Node.Add(OnnxTestData.Node("Relu", "again", ["Y"], ["X"]));
        AssertMessage(LoadFails(proto), "tensor 'X' is produced twice", "a graph input");
    }

    [TestMethod]
    public void DuplicateInitializer()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer.Add(OnnxTestData.RawFloatTensor("B", [3], 0f, 0f, 0f));
        AssertMessage(LoadFails(proto), "initializer 'B' is defined twice");
    }

    [TestMethod]
    public void RawDataShorterThanDims()
    {
        // W is [4,3] FLOAT: 12 elements × 4 bytes = 48 bytes; give it 44.
        var proto = OnnxTestData.MatMulModel();
        var w = proto.Graph.Initializer[0];
        w.RawData = ByteString.CopyFrom(w.RawData.Span[..44]);
        AssertMessage(LoadFails(proto), "tensor 'W'", "44 bytes of raw_data", "[4,3]", "FLOAT", "need 48");
    }

    [TestMethod]
    public void TypedDataCountMismatch()
    {
        // B is [3] FLOAT, so float_data needs 3 values; give it 2.
        var proto = OnnxTestData.MatMulModel();
        var b = proto.Graph.Initializer[1];
        b.ClearRawData();
        b.FloatData.Add(1f);
        b.FloatData.Add(2f);
        AssertMessage(LoadFails(proto), "tensor 'B'", "2 values in float_data", "need 3");
    }

    [TestMethod]
    public void TypedDataInTheWrongField()
    {
        var proto = OnnxTestData.MatMulModel();
        var b = proto.Graph.Initializer[1];
        b.ClearRawData();
        b.Int64Data.Add([1L, 2L, 3L]);
        AssertMessage(LoadFails(proto), "tensor 'B'", "int64_data", "FLOAT uses float_data");
    }

    [TestMethod]
    public void RawAndTypedDataTogether()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[1].FloatData.Add([1f, 2f, 3f]);
        AssertMessage(LoadFails(proto), "tensor 'B'", "both raw_data and float_data");
    }

    [TestMethod]
    public void ElementsWithoutData()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[1].ClearRawData();
        AssertMessage(LoadFails(proto), "tensor 'B'", "has no data", "3 elements");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(99)]
    [DataRow(-3)]
    public void UnknownDataType(int dataType)
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[1].DataType = dataType;
        AssertMessage(LoadFails(proto), "tensor 'B'", $"unknown data_type {dataType}");
    }

    [TestMethod]
    public void NegativeDim()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[1].Dims[0] = -3;
        AssertMessage(LoadFails(proto), "tensor 'B'", "negative dimension -3");
    }

    [TestMethod]
    public void HugeDims_AreRejectedWithoutAllocating()
    {
        // 2^40 × 2^40 = 2^80 overflows a long: rejected as such.
        var proto = OnnxTestData.MatMulModel();
        var b = proto.Graph.Initializer[1];
        b.Dims.Clear();
        b.Dims.Add([1L << 40, 1L << 40]);
        AssertMessage(LoadFails(proto), "tensor 'B'", "overflows");

        // 2^31 × 2^31 = 2^62 elements fits a long but would need 2^64 bytes of FLOAT: the byte count overflows, so
        // it can never match the 12 raw bytes. Both are decided from the numbers alone, in no time.
        b.Dims.Clear();
        b.Dims.Add([1L << 31, 1L << 31]);
        var watch = Stopwatch.StartNew();
        AssertMessage(LoadFails(proto), "tensor 'B'", "12 bytes of raw_data");
        Assert.IsLessThan(5000L, watch.ElapsedMilliseconds);
    }

    [TestMethod]
    public void AttributeTensorsAreChecked()
    {
        // A Constant node's value tensor with 4 bytes for dims [2] FLOAT (needs 8).
        var proto = OnnxTestData.ReluModel();
        var constant = OnnxTestData.Node("Constant", "const", [], ["C"]);
        var value = OnnxTestData.RawFloatTensor("c_value", [2], 1f);
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
        proto.Graph.Node.Add(constant);
        AssertMessage(LoadFails(proto), "node 'const' (Constant) attribute 'value'", "tensor 'c_value'", "need 8");
    }

    [TestMethod]
    public void ValidTypedTensors_Load()
    {
        // INT4 [3] packs 3 elements in ceil(3/2) = 2 int32_data entries; FLOAT16 [2] has one int32 entry per element;
        // COMPLEX64 [2] has 2 floats per element; UINT32 [2] uses uint64_data.
        var proto = OnnxTestData.ReluModel();
        var int4 = new TensorProto { Name = "i4", DataType = 22, Dims = { 3 }, Int32Data = { 0x21, 0x03 } };
        var half = new TensorProto { Name = "h", DataType = 10, Dims = { 2 }, Int32Data = { 0x3C00, 0xC000 } };
        var complex = new TensorProto { Name = "c", DataType = 14, Dims = { 2 }, FloatData = { 1f, 2f, 3f, 4f } };
        var uint32 = new TensorProto { Name = "u", DataType = 12, Dims = { 2 }, Uint64Data = { 7UL, 0xFFFFFFFFUL } };
        var empty = new TensorProto { Name = "e", DataType = 1, Dims = { 0, 5 } };
        proto.Graph.Initializer.Add([int4, half, complex, uint32, empty]);
        var model = OnnxModel.Load(proto.ToByteArray());
        Assert.HasCount(5, model.Proto.Graph.Initializer);
    }

    [TestMethod]
    public void UnvalidatedParse_SkipsStructuralChecks()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Node[0].Input[0] = "nowhere";
        var model = OnnxModel.Parse(proto.ToByteArray(), null, null, "<bytes>", validate: false);
        Assert.AreEqual("nowhere", model.Proto.Graph.Node[0].Input[0]);
    }

    [TestMethod]
    public void StreamOverTwoGigabytes_IsRejectedBeforeReading()
    {
        using var stream = new HugeStream();
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(stream, "huge.onnx"));
        Assert.Contains("huge.onnx: is 3221225472 bytes", ex.Message);
        Assert.Contains("external data", ex.Message);
        Assert.AreEqual(0L, stream.BytesRead);
    }

    /// <summary>A seekable stream that claims 3 GiB and counts what is read from it.</summary>
    private sealed class HugeStream : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => 3L << 30;

        public override long Position { get; set; }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            BytesRead += count;
            return count;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
