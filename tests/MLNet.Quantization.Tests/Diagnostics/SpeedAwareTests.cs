using MLNet.Quantization.Calibration;
using MLNet.Quantization.Diagnostics;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Onnx.Proto;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Speed;
using MLNet.Quantization.Tests.TestSupport;
using MLNet.Quantization.TestSupport;

namespace MLNet.Quantization.Tests.Diagnostics;

/// <summary>
/// Speed-aware placement: the profile reader on a recorded ORT profile, the decision rule on given timings, real ORT
/// runs on a conv whose int8 form is structurally slower (one input channel: Q and DQ around a conv of 9 MACs per
/// output, no int8 fast path) and on a wide one (128 → 128 channels, 3×3, where the VNNI kernel wins by a wide margin and, without VNNI, the decisions need only follow their numbers),
/// and the cache.
/// </summary>
[TestClass]
public sealed class SpeedAwareTests
{
    private static string ProfilePath => Path.Combine(AppContext.BaseDirectory, "TestData", "speed", "ort-profile-cls.json");

    [TestMethod]
    public void ProfileIsReadAsPerNodeMediansAfterTheWarmUp()
    {
        var nodes = OrtProfileReader.Read(File.ReadAllText(ProfilePath), skipRuns: 1);

        Assert.HasCount(3, nodes);
        var conv = nodes["p2o.Conv.1_token_21"];
        Assert.AreEqual("QLinearConv", conv.OpType);
        Assert.AreEqual(49, conv.MedianMicros, "median of 95, 49, 33 (68 is the warm-up run)");
        Assert.AreEqual(24L * 96 * 8, conv.InputElements);
        var quantize = nodes["hardswish_0.tmp_0_QuantizeLinear"];
        Assert.AreEqual(13, quantize.MedianMicros, "median of 14, 13, 8");
        Assert.AreEqual(8L * 24 * 96, quantize.OutputElements);
        Assert.AreEqual(5, nodes["relu_2.tmp_0_DequantizeLinear"].MedianMicros);
        Assert.AreEqual(2L, nodes["relu_2.tmp_0_DequantizeLinear"].OutputElements);
        Assert.AreEqual(58.5, OrtProfileReader.Read(File.ReadAllText(ProfilePath), skipRuns: 0)["p2o.Conv.1_token_21"].MedianMicros, "median of 68, 95, 49, 33");
    }

    [TestMethod]
    public void AProfileThatIsNotOneIsRefusedWithAMessage()
    {
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => OrtProfileReader.Read("{\"cat\": 1}", 0)).Message, "not a JSON array");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => OrtProfileReader.Read("[{", 0)).Message, "not JSON");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() =>
            OrtProfileReader.Read("[{\"cat\": \"Node\", \"name\": \"a_kernel_time\", \"dur\": -3}]", 0)).Message, "'a_kernel_time'");
        Assert.IsEmpty(OrtProfileReader.Read("[{\"cat\": \"Node\", \"name\": \"a_kernel_time\", \"dur\": 3}]", 1), "a node with only warm-up runs has no time");
    }

    [TestMethod]
    public void DecisionRuleKeepsIntEightOnlyWhereItIsFasterWithItsBoundaries()
    {
        // int8 kernel 40 + boundaries 30 = 70 against fp32 60 + nothing added: float
        Assert.IsTrue(SpeedDecisionRule.Decide("a", "Conv", new UnitCost(40, 30, 0), 60).KeptFloat);
        // the same, but keeping it float adds 15 µs of Q/DQ next to int8 neighbours: 70 < 75, int8
        Assert.IsFalse(SpeedDecisionRule.Decide("a", "Conv", new UnitCost(40, 30, 15), 60).KeptFloat);
        // a tie does not pay
        Assert.IsTrue(SpeedDecisionRule.Decide("a", "Conv", new UnitCost(50, 10, 0), 60).KeptFloat);
        // no fp32 timing: stays int8, and the decision says so with NaN
        var unknown = SpeedDecisionRule.Decide("a", "MatMul", new UnitCost(5, 1, 0), null);
        Assert.IsFalse(unknown.KeptFloat);
        Assert.IsTrue(double.IsNaN(unknown.Fp32Micros));
        var d = SpeedDecisionRule.Decide("n", "Gemm", new UnitCost(12.5, 2.5, 1), 30);
        Assert.AreEqual(15, d.Int8Micros);
        Assert.AreEqual(31, d.FloatMicros);
        StringAssert.Contains(d.ToString(), "Gemm 'n': int8 15.0 µs (12.5 kernel + 2.5 Q/DQ) vs float 31.0 µs (30.0 fp32 + 1.0 added Q/DQ) → int8");
    }

    [TestMethod]
    public void OneInputChannelConvThatOrtCannotFuseIsKeptFloat()
    {
        // int8 form: Q and DQ of the input, DQ of the weights and bias, then the same float conv: structurally slower
        var model = ConvModel(inChannels: 1, outChannels: 16, size: 128);
        var result = new SpeedAwarePlacement(() => new X86Quantizer { KeepNarrowConvsInFloat = false }.SetGlobal(X86Quantizer.GetDefaultConfig()))
            .Run(model, Calibration(1, 128), new SpeedAwareOptions());
        Console.WriteLine(result.Report);

        var speed = result.Report.SpeedAware!;
        var decision = speed.Decisions.Single();
        Assert.AreEqual("conv", decision.NodeName);
        Assert.IsTrue(decision.KeptFloat, decision.ToString());
        Assert.IsGreaterThan(0.0, decision.Int8KernelMicros);
        Assert.IsGreaterThan(0.0, decision.Int8BoundaryMicros, "the Q of the input and the DQ of the output are the unit's");
        Assert.IsGreaterThan(0.0, decision.Fp32Micros);
        Assert.IsNotNull(speed.PlacedMicros, "the placed model was timed in the check");
        Assert.IsTrue(speed.Outcome == SpeedAwareOutcome.FloatEquivalent || speed.ChosenMicros <= speed.Fp32Micros, "never the slower of fp32 and the model returned");
        Assert.AreEqual(speed.Outcome == SpeedAwareOutcome.FullyQuantized, result.Report.QuantizedNodesByOpType.Count > 0,
            "the conv runs float in the model returned unless the whole-model check found the fully quantized one faster");
        StringAssert.Contains(result.Report.ToString(), "speed-aware placement on x=1x1x128x128");
    }

    [TestMethod]
    public void WideConvStaysIntEightAndACacheRunRepeatsItWithoutProfiling()
    {
        var model = ConvModel(inChannels: 128, outChannels: 128, size: 28, head: true);
        string dir = TestPaths.NewTempDirectory();
        string cache = Path.Combine(dir, "wide.speed.json");
        var step = new SpeedAwarePlacement(() => new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig()));
        var calibration = Calibration(128, 28);

        var first = step.Run(model, calibration, new SpeedAwareOptions { CachePath = cache });
        Console.WriteLine(first.Report);
        var speed = first.Report.SpeedAware!;
        Assert.HasCount(2, speed.Decisions);
        var wide = speed.Decisions[0];
        Assert.AreEqual("conv", wide.NodeName);
        foreach (var d in speed.Decisions)
            Assert.AreEqual(!(d.Int8Micros < d.FloatMicros), d.KeptFloat, $"each decision follows its own numbers: {d}");
        if (CpuFeatures.HasVnni)
        {
            // VNNI's int8 kernel wins a 128 → 128 3×3 conv by a wide margin; without it (VPMADDUBSW, int16 pairs) the
            // margin is small enough for a noisy shared machine to decide either way, so only consistency is asserted
            Assert.IsFalse(wide.KeptFloat, wide.ToString());
            Assert.AreNotEqual(SpeedAwareOutcome.FloatEquivalent, speed.Outcome);
        }

        Assert.IsLessThanOrEqualTo(speed.Fp32Micros, speed.ChosenMicros, "the model returned is not slower than fp32 in the check");
        bool anyInt8 = speed.Outcome == SpeedAwareOutcome.FullyQuantized || speed.Outcome == SpeedAwareOutcome.Placed && speed.Decisions.Any(d => !d.KeptFloat);
        Assert.AreEqual(anyInt8, first.Report.OrtInt8!.Int8Kernels.Any(k => k.Key.EndsWith("QLinearConv", StringComparison.Ordinal)),
            $"the convs run as QLinearConv exactly when the placement kept any int8 ({speed.Outcome})");
        Assert.IsFalse(speed.FromCache);
        Assert.IsTrue(File.Exists(cache));

        var second = step.Run(model, calibration, new SpeedAwareOptions { CachePath = cache });
        Assert.IsTrue(second.Report.SpeedAware!.FromCache);
        CollectionAssert.AreEqual(speed.Decisions.ToList(), second.Report.SpeedAware.Decisions.ToList(), "the same timings, the same decisions");
        CollectionAssert.AreEqual(first.Model.ToBytes(), second.Model.ToBytes());

        // the same cache for another model (other weights): measured again, and said why
        var other = ConvModel(inChannels: 128, outChannels: 128, size: 28, seed: 2, head: true);
        var third = step.Run(other, calibration, new SpeedAwareOptions { CachePath = cache, MaxRounds = 1, ProfileRuns = 5, CheckRuns = 5 });
        Assert.IsFalse(third.Report.SpeedAware!.FromCache);
        StringAssert.Contains(third.Report.SpeedAware.CacheNote, "another model");
    }

    [TestMethod]
    public void CraftedCachesAreRefusedNamingTheFile()
    {
        var key = new SpeedCacheKey("ab", "x=1x1x8x8", 0, "cpu", "1.31.1");
        (string, string)[] units = [("conv", "Conv")];
        string dir = TestPaths.NewTempDirectory();
        string path = Path.Combine(dir, "m.speed.json");
        var good = new SpeedCacheFile(SpeedCache.Format, SpeedCache.Version, key, [new SpeedCacheUnit("conv", "Conv", 10, 2, 30, 1)], new SpeedCacheCheck(100, 80, null), 1.5);

        SpeedCache.Write(path, good);
        var read = SpeedCache.TryRead(path, key, units, out var why);
        Assert.IsNull(why);
        Assert.AreEqual(good.Key, read!.Key);
        Assert.AreEqual(good.Units.Single(), read.Units.Single());
        Assert.AreEqual(good.Check, read.Check);

        Assert.IsNull(SpeedCache.TryRead(path, key with { Cpu = "other" }, units, out why), "another CPU's timings are not trusted");
        StringAssert.Contains(why, "another model, input, thread count, CPU or ONNX Runtime");
        Assert.IsNull(SpeedCache.TryRead(path, key, [("other", "Conv")], out why));
        StringAssert.Contains(why, "other units");
        Assert.IsNull(SpeedCache.TryRead(Path.Combine(dir, "missing.json"), key, units, out why));

        string[] crafted =
        [
            "not json",
            "{\"format\": \"something-else\", \"version\": 1}",
            File.ReadAllText(path).Replace("\"version\": 1", "\"version\": 99", StringComparison.Ordinal),
            File.ReadAllText(path).Replace("\"int8_kernel_us\": 10", "\"int8_kernel_us\": -10", StringComparison.Ordinal),
            File.ReadAllText(path).Replace("\"units\"", "\"unitz\"", StringComparison.Ordinal),
            "[1, 2, 3]",
        ];
        string[] expected = ["not valid JSON", "\"format\"", "version is 99", "not a finite number", "lacks", "not valid JSON"];
        for (int i = 0; i < crafted.Length; i++)
        {
            File.WriteAllText(path, crafted[i]);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => SpeedCache.TryRead(path, key, units, out _), crafted[i]);
            StringAssert.Contains(e.Message, $"speed cache '{path}' cannot be used");
            StringAssert.Contains(e.Message, expected[i]);
        }
    }

    /// <summary>
    /// x [N, c, s, s] → Conv (3×3, pad 1, seeded weights) → y, or with <paramref name="head"/> → Relu → a second such
    /// Conv (c → c) → y. ORT fuses a QDQ Conv into QLinearConv only when its output is quantized, so a lone Conv, or the
    /// head, runs as a float Conv on dequantized inputs.
    /// </summary>
    internal static OnnxModel ConvModel(int inChannels, int outChannels, int size, int seed = 1, bool head = false)
    {
        var random = new Random(seed);
        var graph = new GraphProto { Name = "speed_conv" };
        graph.Input.Add(TinyModels.FloatInfo("x", 1, inChannels, size, size));
        graph.Output.Add(TinyModels.FloatInfo("y", 1, outChannels, size, size));
        graph.Node.Add(Conv(graph, random, "conv", "x", head ? "c" : "y", inChannels, outChannels));
        if (head)
        {
            var relu = new NodeProto { Name = "relu", OpType = "Relu" };
            relu.Input.Add("c");
            relu.Output.Add("r");
            graph.Node.Add(relu);
            graph.Node.Add(Conv(graph, random, "head", "r", "y", outChannels, outChannels));
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return OnnxModel.Load(Google.Protobuf.MessageExtensions.ToByteArray(model));
    }

    private static NodeProto Conv(GraphProto graph, Random random, string name, string input, string output, int inChannels, int outChannels)
    {
        float scale = 1f / MathF.Sqrt(inChannels * 9);
        graph.Initializer.Add(TinyModels.FloatTensor(name + ".w", [outChannels, inChannels, 3, 3],
            Enumerable.Range(0, outChannels * inChannels * 9).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray()));
        graph.Initializer.Add(TinyModels.FloatTensor(name + ".b", [outChannels], Enumerable.Range(0, outChannels).Select(_ => (float)random.NextDouble() * 0.1f).ToArray()));
        var conv = new NodeProto { Name = name, OpType = "Conv" };
        conv.Input.Add([input, name + ".w", name + ".b"]);
        conv.Output.Add(output);
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        return conv;
    }

    /// <summary>Two batches of four seeded samples in [-1, 1].</summary>
    internal static List<IReadOnlyList<NamedTensor>> Calibration(int channels, int size)
    {
        var random = new Random(7);
        return [.. Enumerable.Range(0, 2).Select(_ => (IReadOnlyList<NamedTensor>)[NamedTensor.FromFloats("x",
            Enumerable.Range(0, 4 * channels * size * size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), 4, channels, size, size)])];
    }
}
