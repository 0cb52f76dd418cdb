using Google.Protobuf;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

/// <summary>GetRawData gives ONNX's raw layout (fixed width, little-endian) whatever field holds the data.</summary>
[TestClass]
public sealed class OnnxModelRawDataTests
{
    private static byte[] Raw(TensorProto tensor)
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Initializer.Add(tensor);
        var model = OnnxModel.Load(proto.ToByteArray());
        return model.GetRawData(model.Proto.Graph.Initializer[0]).ToArray();
    }

    [TestMethod]
    public void RawData_IsReturnedAsIs()
    {
        // 1.0f is 0x3F800000, little-endian 00 00 80 3F; -2.0f is 0xC0000000.
        CollectionAssert.AreEqual(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0 }, Raw(OnnxTestData.RawFloatTensor("t", [2], 1f, -2f)));
    }

    [TestMethod]
    public void FloatData_BecomesLittleEndianFloats()
    {
        var tensor = new TensorProto { Name = "t", DataType = 1, Dims = { 2 }, FloatData = { 1f, -2f } };
        CollectionAssert.AreEqual(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0 }, Raw(tensor));
    }

    [TestMethod]
    public void Int64Data_BecomesEightBytesEach()
    {
        // -1 is all ones; 258 = 0x0102 → 02 01 00 00 00 00 00 00.
        var tensor = new TensorProto { Name = "t", DataType = 7, Dims = { 2 }, Int64Data = { -1L, 258L } };
        CollectionAssert.AreEqual(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2, 1, 0, 0, 0, 0, 0, 0 }, Raw(tensor));
    }

    [TestMethod]
    public void Float16InInt32Data_BecomesTwoBytesEach()
    {
        // FLOAT16 bit patterns 0x3C00 (1.0) and 0xC000 (-2.0), stored one per int32 entry.
        var tensor = new TensorProto { Name = "t", DataType = 10, Dims = { 2 }, Int32Data = { 0x3C00, 0xC000 } };
        CollectionAssert.AreEqual(new byte[] { 0x00, 0x3C, 0x00, 0xC0 }, Raw(tensor));
    }

    [TestMethod]
    public void Int8InInt32Data_BecomesOneByteEach()
    {
        // -1 → 0xFF, 127 → 0x7F, -128 → 0x80.
        var tensor = new TensorProto { Name = "t", DataType = 3, Dims = { 3 }, Int32Data = { -1, 127, -128 } };
        CollectionAssert.AreEqual(new byte[] { 0xFF, 0x7F, 0x80 }, Raw(tensor));
    }

    [TestMethod]
    public void Int4InInt32Data_StaysPacked()
    {
        // INT4 [3] = (1, 2, 3): first element in the low nibble, so bytes 0x21 and 0x03, one per int32 entry.
        var tensor = new TensorProto { Name = "t", DataType = 22, Dims = { 3 }, Int32Data = { 0x21, 0x03 } };
        CollectionAssert.AreEqual(new byte[] { 0x21, 0x03 }, Raw(tensor));
    }

    [TestMethod]
    public void UInt32InUInt64Data_BecomesFourBytesEach()
    {
        var tensor = new TensorProto { Name = "t", DataType = 12, Dims = { 2 }, Uint64Data = { 7UL, 0xFFFFFFFFUL } };
        CollectionAssert.AreEqual(new byte[] { 7, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF }, Raw(tensor));
    }

    [TestMethod]
    public void DoubleData_BecomesEightBytesEach()
    {
        // 1.0 is 0x3FF0000000000000.
        var tensor = new TensorProto { Name = "t", DataType = 11, Dims = { 1 }, DoubleData = { 1.0 } };
        CollectionAssert.AreEqual(new byte[] { 0, 0, 0, 0, 0, 0, 0xF0, 0x3F }, Raw(tensor));
    }

    [TestMethod]
    public void StringTensor_HasNoRawForm()
    {
        var proto = OnnxTestData.ReluModel();
        proto.Graph.Initializer.Add(new TensorProto { Name = "s", DataType = 8, Dims = { 1 }, StringData = { ByteString.CopyFromUtf8("a") } });
        var model = OnnxModel.Load(proto.ToByteArray());
        Assert.ThrowsExactly<InvalidOperationException>(() => model.GetRawData(model.Proto.Graph.Initializer[0]));
    }

    [TestMethod]
    public void UnvalidatedMismatch_IsCaughtOnRead()
    {
        var proto = OnnxTestData.MatMulModel();
        proto.Graph.Initializer[0].Dims[0] = 5;
        var model = OnnxModel.Parse(proto.ToByteArray(), "m", null, "m", validate: false);
        var ex = Assert.ThrowsExactly<OnnxFormatException>(() => model.GetRawData(model.Proto.Graph.Initializer[0]));
        Assert.Contains("48 bytes", ex.Message);
        Assert.Contains("need 60", ex.Message);
    }
}
