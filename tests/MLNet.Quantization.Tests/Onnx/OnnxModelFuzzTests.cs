using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;

namespace MLNet.Quantization.Tests.Onnx;

/// <summary>
/// Damaged copies of the shared models must load or fail with <see cref="OnnxFormatException"/>, never another
/// exception, and never hang.
/// </summary>
[TestClass]
public sealed class OnnxModelFuzzTests
{
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(10);

    /// <summary>Loads the bytes; on success also serializes and reads every tensor, which must not fail either.</summary>
    private static string Attempt(byte[] bytes, string label)
    {
        var task = Task.Run(() =>
        {
            try
            {
                var model = OnnxModel.Load(bytes, label);
                model.ToBytes();
                foreach (var site in OnnxTensorWalker.AllTensors(model.Proto))
                {
                    if (site.Tensor.DataType != 8)
                    {
                        model.GetRawData(site.Tensor);
                    }
                }

                return "loaded";
            }
            catch (OnnxFormatException ex)
            {
                Assert.StartsWith(label + ": ", ex.Message);
                return "rejected";
            }
        });

        if (!task.Wait(CaseLimit))
        {
            Assert.Fail($"{label}: did not finish within {CaseLimit.TotalSeconds} s");
        }

        return task.Result;
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    [DataRow("fmnist_mobile")]
    public void TruncatedAt200Offsets_IsRejected(string name)
    {
        var bytes = OnnxTestData.ModelBytes(name);
        var offsets = Enumerable.Range(0, 200).Select(i => (int)((long)bytes.Length * i / 200)).ToList();
        offsets.AddRange([1, 2, 3, bytes.Length - 3, bytes.Length - 2, bytes.Length - 1]);
        var rejected = 0;
        foreach (var offset in offsets.Distinct())
        {
            var cut = bytes.AsSpan(0, offset).ToArray();
            if (Attempt(cut, $"{name}[..{offset}]") == "rejected")
            {
                rejected++;
            }
        }

        // A strict prefix drops at least the opset imports that PyTorch writes last, so every cut is rejected.
        Assert.AreEqual(offsets.Distinct().Count(), rejected);
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_rowtf")]
    [DataRow("fmnist_mobile")]
    public void RandomByteFlips_LoadOrAreRejected(string name)
    {
        var bytes = OnnxTestData.ModelBytes(name);
        var structural = StructuralOffsets(bytes);
        var random = new Random(20240601);
        var outcomes = new Dictionary<string, int> { ["loaded"] = 0, ["rejected"] = 0 };
        for (var i = 0; i < 200; i++)
        {
            var damaged = (byte[])bytes.Clone();
            var flips = random.Next(1, 5);
            for (var f = 0; f < flips; f++)
            {
                // Three cases in four hit the protobuf structure (names, lengths, tags), not the weight payloads.
                var at = random.Next(4) == 0 ? random.Next(bytes.Length) : structural[random.Next(structural.Count)];
                damaged[at] ^= (byte)random.Next(1, 256);
            }

            outcomes[Attempt(damaged, $"{name}#flip{i}")]++;
        }

        Assert.AreEqual(200, outcomes["loaded"] + outcomes["rejected"]);
        Assert.IsGreaterThan(0, outcomes["rejected"], "some flips must break the model");
    }

    /// <summary>Offsets of the file outside initializer payloads (found by locating each raw_data in the bytes).</summary>
    private static List<int> StructuralOffsets(byte[] bytes)
    {
        var payload = new bool[bytes.Length];
        var proto = ModelProto.Parser.ParseFrom(bytes);
        var from = 0;
        foreach (var tensor in proto.Graph.Initializer)
        {
            if (tensor.RawData.Length < 16)
            {
                continue;
            }

            var at = bytes.AsSpan(from).IndexOf(tensor.RawData.Span);
            Assert.IsGreaterThanOrEqualTo(0, at, tensor.Name);
            Array.Fill(payload, true, from + at, tensor.RawData.Length);
            from += at + tensor.RawData.Length;
        }

        var offsets = Enumerable.Range(0, bytes.Length).Where(i => !payload[i]).ToList();
        Assert.IsGreaterThan(1000, offsets.Count);
        return offsets;
    }
}
