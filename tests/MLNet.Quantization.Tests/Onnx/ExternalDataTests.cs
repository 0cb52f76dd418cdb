using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Onnx;

[TestClass]
public sealed class ExternalDataTests
{
    private static readonly float[] Weight = Enumerable.Range(0, 64 * 32).Select(i => (i % 17) * 0.125f - 1f).ToArray();

    [TestMethod]
    public void SavesExternalDataThatOnnxRuntimeLoads()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            var model = OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(TinyModels.MatMul(Weight, 64, 32)));
            string path = Path.Combine(dir, "ext.onnx");
            model.Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataFileName = "weights.bin" });

            Assert.IsTrue(File.Exists(Path.Combine(dir, "weights.bin")));
            Assert.IsLessThan(1024L, new FileInfo(path).Length, "the weight left the model file");
            var reloaded = OnnxModel.Load(path);
            var w = reloaded.Proto.Graph.Initializer.Single();
            Assert.AreEqual(TensorProto.Types.DataLocation.External, w.DataLocation);
            var raw = reloaded.GetRawData(w).ToArray();
            var back = new float[Weight.Length];
            Buffer.BlockCopy(raw, 0, back, 0, raw.Length);
            CollectionAssert.AreEqual(Weight, back);

            // ONNX Runtime runs the external-data model: Y[j] = Σ_i x_i · W[i, j] with x = 1
            using var session = new InferenceSession(path);
            var x = new DenseTensor<float>(Enumerable.Repeat(1f, 64).ToArray(), [1, 64]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("X", x)]);
            var y = results.Single().AsTensor<float>().ToArray();
            for (int j = 0; j < 32; j++)
            {
                float expected = 0f;
                for (int i = 0; i < 64; i++)
                    expected += Weight[i * 32 + j];
                Assert.AreEqual(expected, y[j], 1e-4f);
            }

            // external → inline again, written elsewhere
            string inlinePath = Path.Combine(dir, "inline.onnx");
            reloaded.Save(Path.Combine(dir, "copy-ext.onnx"), new OnnxSaveOptions { UseExternalData = true });
            OnnxModel.Load(Path.Combine(dir, "copy-ext.onnx")).Save(inlinePath);
            string otherDir = Path.Combine(dir, "other");
            Directory.CreateDirectory(otherDir);
            OnnxModel.Load(inlinePath).Save(Path.Combine(otherDir, "moved.onnx"));
            var inlined = OnnxModel.Load(Path.Combine(otherDir, "moved.onnx")).Proto.Graph.Initializer.Single();
            Assert.IsFalse(inlined.HasDataLocation);
            Assert.AreEqual(Weight.Length * 4, inlined.RawData.Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void MissingOrShortExternalFileIsAFormatError()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            var model = OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(TinyModels.MatMul(Weight, 64, 32)));
            string path = Path.Combine(dir, "ext.onnx");
            model.Save(path, new OnnxSaveOptions { UseExternalData = true, ExternalDataFileName = "w.bin" });

            File.WriteAllBytes(Path.Combine(dir, "w.bin"), new byte[100]);
            var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(path));
            StringAssert.Contains(e.Message, "past its end");
            StringAssert.Contains(e.Message, path);

            File.Delete(Path.Combine(dir, "w.bin"));
            e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(path));
            StringAssert.Contains(e.Message, "does not exist");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void ExternalLocationMayNotLeaveTheModelFolder()
    {
        var proto = TinyModels.MatMul(Weight, 64, 32);
        var w = proto.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto), "evil.onnx"));
        StringAssert.Contains(e.Message, "leaves the model's folder");
        StringAssert.StartsWith(e.Message, "evil.onnx");
    }
}
