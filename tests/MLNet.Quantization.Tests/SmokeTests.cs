namespace MLNet.Quantization.Tests;

[TestClass]
public sealed class SmokeTests
{
    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    [DataRow("fmnist_mobile")]
    public void ProtoRoundTrip(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx"));
        var m = MLNet.Quantization.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        var again = Google.Protobuf.MessageExtensions.ToByteArray(m);
        CollectionAssert.AreEqual(bytes, again);
    }
}
