using Google.Protobuf;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Graph;

[TestClass]
public sealed class TensorDataTests
{
    [TestMethod]
    public void FactoriesRoundTripEveryType()
    {
        CollectionAssert.AreEqual(new[] { 1.5f, -2f }, TensorData.FromFloats("f", [2], [1.5f, -2f]).ToArray<float>());
        CollectionAssert.AreEqual(new sbyte[] { -128, 127 }, TensorData.FromInt8("i8", [2], [-128, 127]).ToArray<sbyte>());
        CollectionAssert.AreEqual(new byte[] { 0, 255 }, TensorData.FromUInt8("u8", [2], [0, 255]).ToArray<byte>());
        CollectionAssert.AreEqual(new short[] { -3 }, TensorData.FromInt16("i16", [1], [-3]).ToArray<short>());
        CollectionAssert.AreEqual(new ushort[] { 65535 }, TensorData.FromUInt16("u16", [1], [65535]).ToArray<ushort>());
        CollectionAssert.AreEqual(new[] { int.MinValue }, TensorData.FromInt32("i32", [1], [int.MinValue]).ToArray<int>());
        CollectionAssert.AreEqual(new[] { long.MaxValue }, TensorData.FromInt64("i64", [1], [long.MaxValue]).ToArray<long>());
        CollectionAssert.AreEqual(new[] { 0.5f }, TensorData.FromFloat16("h", [1], [(Half)0.5f]).ToFloatArray());
        CollectionAssert.AreEqual(new[] { -7f, 3f }, TensorData.FromInt8("c", [2], [-7, 3]).ToFloatArray());
        Assert.AreEqual(TensorElementType.Int32, TensorData.FromValues<int>("v", [1], [5]).ElementType);
    }

    [TestMethod]
    public void ReadsRawLittleEndianBytes()
    {
        // float 1.0 = 0x3F800000 (LE bytes 00 00 80 3F); -2.0 = 0xC0000000
        var t = new TensorProto { Name = "raw", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2 }, RawData = ByteString.CopyFrom(0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0) };
        CollectionAssert.AreEqual(new[] { 1f, -2f }, new TensorData(t, null).ToFloatArray());
        // int16 -2 = 0xFFFE (LE FE FF); float16 1.0 = 0x3C00 (LE 00 3C); bfloat16 1.0 = 0x3F80 (LE 80 3F)
        var i16 = new TensorProto { Name = "s", DataType = (int)TensorProto.Types.DataType.Int16, Dims = { 1 }, RawData = ByteString.CopyFrom(0xFE, 0xFF) };
        Assert.AreEqual(-2L, new TensorData(i16, null).ToInt64Array()[0]);
        var h = new TensorProto { Name = "h", DataType = (int)TensorProto.Types.DataType.Float16, Dims = { 1 }, RawData = ByteString.CopyFrom(0x00, 0x3C) };
        Assert.AreEqual(1f, new TensorData(h, null).ToFloatArray()[0]);
        var bf = new TensorProto { Name = "bf", DataType = (int)TensorProto.Types.DataType.Bfloat16, Dims = { 1 }, RawData = ByteString.CopyFrom(0x80, 0x3F) };
        Assert.AreEqual(1f, new TensorData(bf, null).ToFloatArray()[0]);
    }

    [TestMethod]
    public void ReadsTypedFieldsAsOnnxStoresThem()
    {
        // int8 values live in int32_data; float16 bit patterns too (0x3C00 = 1.0, 0xC000 = -2.0)
        var i8 = new TensorProto { Name = "i8", DataType = (int)TensorProto.Types.DataType.Int8, Dims = { 3 }, Int32Data = { -5, 0, 100 } };
        CollectionAssert.AreEqual(new sbyte[] { -5, 0, 100 }, new TensorData(i8, null).ToArray<sbyte>());
        var h = new TensorProto { Name = "h", DataType = (int)TensorProto.Types.DataType.Float16, Dims = { 2 }, Int32Data = { 0x3C00, 0xC000 } };
        CollectionAssert.AreEqual(new[] { 1f, -2f }, new TensorData(h, null).ToFloatArray());
        var f = new TensorProto { Name = "f", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1, 2 }, FloatData = { 0.25f, 4f } };
        CollectionAssert.AreEqual(new[] { 0.25f, 4f }, new TensorData(f, null).ToFloatArray());
        var l = new TensorProto { Name = "l", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, Int64Data = { -1, 1L << 40 } };
        CollectionAssert.AreEqual(new[] { -1L, 1L << 40 }, new TensorData(l, null).ToInt64Array());
        var d = new TensorProto { Name = "d", DataType = (int)TensorProto.Types.DataType.Double, Dims = { 1 }, DoubleData = { 0.125 } };
        Assert.AreEqual(0.125f, new TensorData(d, null).ToFloatArray()[0]);
    }

    [TestMethod]
    public void LengthMismatchNamesTheTensor()
    {
        var t = new TensorProto { Name = "short", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3 }, RawData = ByteString.CopyFrom(new byte[8]) };
        var e = Assert.ThrowsExactly<OnnxGraphException>(() => new TensorData(t, null).ToFloatArray());
        StringAssert.Contains(e.Message, "'short'");
        Assert.ThrowsExactly<ArgumentException>(() => TensorData.FromFloats("x", [2, 2], [1f]));
        Assert.ThrowsExactly<OnnxGraphException>(() => TensorData.FromFloats("x", [1], [1f]).ToArray<int>());
    }
}
