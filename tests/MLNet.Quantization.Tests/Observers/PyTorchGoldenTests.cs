using System.Globalization;
using System.Text.Json;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

/// <summary>
/// Our observers and kernels against values PyTorch 1.13 itself computed (tests/TestData/pytorch/observer_golden.json,
/// written by record_observers.py next to it): qparams bit for bit, fake-quantized values bit for bit. The two places
/// where torch 1.13 and this library differ on purpose (docs/numerics-pytorch.md) are pinned at their measured size.
/// </summary>
[TestClass]
public sealed class PyTorchGoldenTests
{
    private static readonly Lazy<JsonDocument> Golden = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "pytorch", "observer_golden.json"))));

    public static IEnumerable<object[]> ObserverCases =>
        CaseNames(c => c.GetProperty("observer").GetString() != "HistogramObserver" || HistogramComparable(c.GetProperty("name").GetString()!, 0));

    public static IEnumerable<object[]> HistogramCases => CaseNames(c => c.GetProperty("observer").GetString() == "HistogramObserver");

    [TestMethod]
    [DynamicData(nameof(ObserverCases))]
    public void ObserverQParamsMatchPyTorch(string name)
    {
        var golden = ObserverCase(name);
        var observer = CreateObserver(golden);
        var batches = golden.GetProperty("batches").EnumerateArray().ToArray();
        var steps = golden.GetProperty("steps").EnumerateArray().ToArray();
        for (int b = 0; b < batches.Length; b++)
        {
            var (values, shape) = Tensor(batches[b]);
            observer.Observe(values, shape);
            if (observer is HistogramObserver && !HistogramComparable(name, b))
                continue;
            var qparams = observer.CalculateQParams();
            string where = $"{name} after batch {b + 1}";
            if (observer is HistogramObserver histogram)
                AssertBitsEqual(Floats(steps[b].GetProperty("histogram")), histogram.GetHistogram().Select(c => (float)c).ToArray(), $"{where}: histogram");
            AssertBitsEqual(Floats(steps[b].GetProperty("min")), ObservedMins(observer), $"{where}: min");
            AssertBitsEqual(Floats(steps[b].GetProperty("max")), ObservedMaxs(observer), $"{where}: max");
            AssertBitsEqual(Floats(steps[b].GetProperty("scale")), qparams.Scales, $"{where}: scale");
            CollectionAssert.AreEqual(Ints(steps[b].GetProperty("zero_point")), qparams.ZeroPoints, $"{where}: zero point");
        }
    }

    /// <summary>The L2 search on torch's own histogram and range, at every step, gives torch's qparams bit for bit.</summary>
    [TestMethod]
    [DynamicData(nameof(HistogramCases))]
    public void HistogramSearchOnTorchsHistogramMatchesPyTorch(string name)
    {
        var golden = ObserverCase(name);
        var observer = (HistogramObserver)CreateObserver(golden);
        foreach (var (step, b) in golden.GetProperty("steps").EnumerateArray().Select((s, b) => (s, b)))
        {
            var counts = Floats(step.GetProperty("histogram")).Select(c => (double)c).ToArray();
            var (min, max) = HistogramObserver.NonLinearParamSearch(counts, Floats(step.GetProperty("min"))[0], Floats(step.GetProperty("max"))[0],
                observer.DestinationBins);
            var qparams = QParamsCalculator.Calculate(min, max, observer.Options);
            AssertBitsEqual(Floats(step.GetProperty("scale")), qparams.Scales, $"{name} step {b + 1}: scale");
            CollectionAssert.AreEqual(Ints(step.GetProperty("zero_point")), qparams.ZeroPoints, $"{name} step {b + 1}: zero point");
        }
    }

    /// <summary>
    /// Where the histograms differ (torch 1.13's integer-truncated histc range, and its upsampling combination when a
    /// batch widens the range), the scale differs by the measured amount; see docs/numerics-pytorch.md.
    /// </summary>
    [TestMethod]
    [DataRow("histogram_widening_second_batch_integer_range", 0.0005, 0.01)]
    [DataRow("histogram_widening_second_batch", 0.05, 0.15)]
    [DataRow("histogram_normal", 0.0005, 0.005)]
    [DataRow("histogram_heavy_tail", 0.60, 0.95)]
    public void HistogramDifferencesFromTorch113StayAtTheirMeasuredSize(string name, double atLeast, double atMost)
    {
        var golden = ObserverCase(name);
        var observer = CreateObserver(golden);
        foreach (var batch in golden.GetProperty("batches").EnumerateArray())
        {
            var (values, shape) = Tensor(batch);
            observer.Observe(values, shape);
        }

        float torchScale = Floats(golden.GetProperty("steps").EnumerateArray().Last().GetProperty("scale"))[0];
        double relative = Math.Abs(observer.CalculateQParams().Scale / (double)torchScale - 1);
        Console.WriteLine($"{name}: scale {observer.CalculateQParams().Scale:R}, torch 1.13 {torchScale:R}, {relative:P2} apart");
        Assert.IsTrue(relative >= atLeast && relative <= atMost, $"{name}: scale differs from torch 1.13's by {relative:P2}, measured within [{atLeast:P1}, {atMost:P1}]");
    }

    [TestMethod]
    public void FakeQuantizePerTensorMatchesPyTorchOnTies()
    {
        foreach (var c in Golden.Value.RootElement.GetProperty("fake_quantize_per_tensor").EnumerateArray())
        {
            var (x, _) = Tensor(c.GetProperty("input"));
            var y = new float[x.Length];
            QuantizeKernels.FakeQuantize(x, Float(c.GetProperty("scale")), c.GetProperty("zero_point").GetInt32(),
                c.GetProperty("quant_min").GetInt32(), c.GetProperty("quant_max").GetInt32(), y);
            AssertBitsEqual(Floats(c.GetProperty("output")), y, c.GetProperty("name").GetString()!);
        }
    }

    [TestMethod]
    public void FakeQuantizePerChannelMatchesPyTorchOnTies()
    {
        foreach (var c in Golden.Value.RootElement.GetProperty("fake_quantize_per_channel").EnumerateArray())
        {
            var (x, shape) = Tensor(c.GetProperty("input"));
            var y = new float[x.Length];
            QuantizeKernels.FakeQuantize(x, shape, c.GetProperty("axis").GetInt32(), Floats(c.GetProperty("scales")), Ints(c.GetProperty("zero_points")),
                c.GetProperty("quant_min").GetInt32(), c.GetProperty("quant_max").GetInt32(), y);
            AssertBitsEqual(Floats(c.GetProperty("output")), y, c.GetProperty("name").GetString()!);
        }
    }

    [TestMethod]
    public void QuantizeMatchesPyTorchQuantizePerTensor()
    {
        foreach (var c in Golden.Value.RootElement.GetProperty("quantize_per_tensor").EnumerateArray())
        {
            var (x, _) = Tensor(c.GetProperty("input"));
            float scale = Float(c.GetProperty("scale"));
            int zp = c.GetProperty("zero_point").GetInt32();
            int[] actual;
            if (c.GetProperty("dtype").GetString() == "uint8")
            {
                var q = new byte[x.Length];
                QuantizeKernels.Quantize(x, scale, zp, q);
                actual = q.Select(v => (int)v).ToArray();
            }
            else
            {
                var q = new sbyte[x.Length];
                QuantizeKernels.Quantize(x, scale, zp, q);
                actual = q.Select(v => (int)v).ToArray();
            }

            CollectionAssert.AreEqual(Ints(c.GetProperty("output")), actual, c.GetProperty("name").GetString());
        }
    }

    // ---------------------------------------------------------------- reading the golden file

    private static IEnumerable<object[]> CaseNames(Func<JsonElement, bool> where) =>
        Golden.Value.RootElement.GetProperty("observers").EnumerateArray().Where(where).Select(c => new object[] { c.GetProperty("name").GetString()! });

    /// <summary>
    /// Torch 1.13's own histogram is comparable for a first batch with integer extremes (its histc truncates the range to
    /// integers); a later batch that widens the range is combined differently on purpose.
    /// </summary>
    private static bool HistogramComparable(string name, int batch) => batch == 0 && name.EndsWith("_integer_range", StringComparison.Ordinal);

    private static JsonElement ObserverCase(string name) =>
        Golden.Value.RootElement.GetProperty("observers").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static Observer CreateObserver(JsonElement golden)
    {
        var o = golden.GetProperty("options");
        var options = new ObserverOptions(
            DataType: o.GetProperty("dtype").GetString() switch
            {
                "uint8" => QuantDataType.UInt8,
                "int8" => QuantDataType.Int8,
                var d => throw new InvalidDataException($"dtype {d}"),
            },
            QScheme: o.GetProperty("qscheme").GetString() switch
            {
                "per_tensor_affine" => QScheme.PerTensorAffine,
                "per_tensor_symmetric" => QScheme.PerTensorSymmetric,
                "per_channel_affine" => QScheme.PerChannelAffine,
                "per_channel_symmetric" => QScheme.PerChannelSymmetric,
                var q => throw new InvalidDataException($"qscheme {q}"),
            },
            ReduceRange: o.GetProperty("reduce_range").GetBoolean(),
            QuantMin: NullableInt(o.GetProperty("quant_min")),
            QuantMax: NullableInt(o.GetProperty("quant_max")),
            Eps: Float(o.GetProperty("eps")),
            ChannelAxis: NullableInt(o.GetProperty("ch_axis")) ?? 0);
        return golden.GetProperty("observer").GetString() switch
        {
            "MinMaxObserver" => new MinMaxObserver(options),
            "PerChannelMinMaxObserver" => new PerChannelMinMaxObserver(options),
            "MovingAverageMinMaxObserver" => new MovingAverageMinMaxObserver(options, Float(golden.GetProperty("averaging_constant"))),
            "HistogramObserver" => new HistogramObserver(options, golden.GetProperty("bins").GetInt32()),
            var k => throw new InvalidDataException($"observer {k}"),
        };
    }

    private static float[] ObservedMins(Observer observer) => observer switch
    {
        MinMaxObserver m => [m.Min],
        HistogramObserver h => [h.Min],
        PerChannelMinMaxObserver p => [.. p.Mins!],
        _ => throw new InvalidOperationException(observer.GetType().Name),
    };

    private static float[] ObservedMaxs(Observer observer) => observer switch
    {
        MinMaxObserver m => [m.Max],
        HistogramObserver h => [h.Max],
        PerChannelMinMaxObserver p => [.. p.Maxs!],
        _ => throw new InvalidOperationException(observer.GetType().Name),
    };

    private static (float[] Values, int[] Shape) Tensor(JsonElement t) => (Floats(t.GetProperty("values")), Ints(t.GetProperty("shape")));

    private static float[] Floats(JsonElement hexBits) => hexBits.EnumerateArray().Select(Float).ToArray();

    private static float Float(JsonElement hexBits) =>
        BitConverter.Int32BitsToSingle(unchecked((int)uint.Parse(hexBits.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));

    private static int[] Ints(JsonElement values) => values.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static int? NullableInt(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetInt32();

    private static void AssertBitsEqual(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what)
    {
        Assert.HasCount(expected.Count, actual, what);
        for (int i = 0; i < expected.Count; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what} [{i}]: {actual[i].ToString("R", CultureInfo.InvariantCulture)}, PyTorch {expected[i].ToString("R", CultureInfo.InvariantCulture)}");
        }
    }
}
