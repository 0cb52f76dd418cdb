using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>Statistics files: observer state round trips, shards merging into one pass, and hostile files refused with the file named.</summary>
[TestClass]
public sealed class StatisticsFileTests
{
    private static PreparedModel Prepare(Func<ObserverOptions, Observer>? observer = null) =>
        QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")),
            new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(activationObserver: observer)),
            new PrepareOptions { QualityCheckSamples = 0 });

    private static List<IReadOnlyList<NamedTensor>> Batches(int skip, int count) => TestData.Calib.Batches("input", 32).Skip(skip).Take(count).ToList();

    private static byte[] Save(PreparedModel prepared)
    {
        using var stream = new MemoryStream();
        prepared.SaveStatistics(stream);
        return stream.ToArray();
    }

    private static byte[] ModelBytes(QuantizedModel model) => model.Model.Proto.ToByteArray();

    public static IEnumerable<object[]> Observers() =>
    [
        ["minmax", new Func<ObserverOptions, Observer>(o => new MinMaxObserver(o))],
        ["moving-average", new Func<ObserverOptions, Observer>(o => new MovingAverageMinMaxObserver(o))],
        ["histogram", new Func<ObserverOptions, Observer>(o => new HistogramObserver(o))],
        ["percentile", new Func<ObserverOptions, Observer>(o => new PercentileObserver(o))],
        ["percentile-asymmetric", new Func<ObserverOptions, Observer>(o => new PercentileObserver(o, symmetric: false))],
        ["entropy", new Func<ObserverOptions, Observer>(o => new EntropyObserver(o))],
    ];

    [TestMethod]
    [DynamicData(nameof(Observers))]
    public void SavedAndLoadedStatisticsConvertToTheSameModel(string name, Func<ObserverOptions, Observer> observer)
    {
        var calibrated = Prepare(observer);
        calibrated.Calibrate(Batches(0, 4));
        var file = Save(calibrated);
        var loaded = Prepare(observer);
        var observed = loaded.LoadStatistics(new MemoryStream(file));
        Assert.AreEqual(128, observed.Samples, name);
        CollectionAssert.AreEqual(ModelBytes(calibrated.Convert()), ModelBytes(loaded.Convert()), name);
        CollectionAssert.AreEqual(file, Save(loaded), $"{name}: a loaded model saves the same file");
    }

    [TestMethod]
    public void MinMaxShardsMergeIntoTheOnePassModelByteForByte()
    {
        var onePass = Prepare(o => new MinMaxObserver(o));
        onePass.Calibrate(Batches(0, 6));
        var merged = Prepare(o => new MinMaxObserver(o));
        for (int shard = 0; shard < 3; shard++)
        {
            var part = Prepare(o => new MinMaxObserver(o));
            part.Calibrate(Batches(2 * shard, 2));
            merged.LoadStatistics(new MemoryStream(Save(part)));
        }

        CollectionAssert.AreEqual(ModelBytes(onePass.Convert()), ModelBytes(merged.Convert()));
    }

    [TestMethod]
    public void ReplaceDiscardsWhatTheModelHeldAndMergeKeepsIt()
    {
        var a = Prepare(o => new MinMaxObserver(o));
        a.Calibrate(Batches(0, 2));
        var b = Prepare(o => new MinMaxObserver(o));
        b.Calibrate(Batches(2, 2));
        var both = Prepare(o => new MinMaxObserver(o));
        both.Calibrate(Batches(0, 4));

        var replaced = Prepare(o => new MinMaxObserver(o));
        replaced.Calibrate(Batches(0, 2));
        replaced.LoadStatistics(new MemoryStream(Save(b)), StatisticsLoadMode.Replace);
        CollectionAssert.AreEqual(ModelBytes(b.Convert()), ModelBytes(replaced.Convert()));

        var mergedInto = Prepare(o => new MinMaxObserver(o));
        mergedInto.Calibrate(Batches(0, 2));
        mergedInto.LoadStatistics(new MemoryStream(Save(b)));
        CollectionAssert.AreEqual(ModelBytes(both.Convert()), ModelBytes(mergedInto.Convert()));
        Assert.AreEqual(128, mergedInto.Convert().Report.CalibrationSamples);
    }

    [TestMethod]
    public void PerChannelObserverStateRoundTrips()
    {
        var values = Enumerable.Range(0, 4 * 3 * 5).Select(i => MathF.Sin(i) * (i % 3 + 1)).ToArray();
        values[7] = float.NaN;
        Observer[] observers =
        [
            new PerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 1)),
            new MovingAveragePerChannelMinMaxObserver(new ObserverOptions(QuantDataType.Int8, QScheme.PerChannelSymmetric, ChannelAxis: 1), 0.1f),
            new PlaceholderObserver(),
        ];
        foreach (var observer in observers)
        {
            observer.Observe(values, [4, 3, 5]);
            observer.Observe(values.Select(v => v * 2).ToArray(), [4, 3, 5]);
            var file = new StatisticsFile(new byte[32], new CalibrationProgress(2, 8, TimeSpan.Zero), [new StatisticsGroup(["t"], observer)]);
            using var stream = new MemoryStream();
            file.Write(stream);
            var read = StatisticsFile.Read(new MemoryStream(stream.ToArray()), "mem").Groups.Single().Observer;
            Assert.AreEqual(observer.GetType(), read.GetType());
            Assert.AreEqual(observer.HasObservations, read.HasObservations);
            if (observer is not PlaceholderObserver)
            {
                var (expected, actual) = (observer.CalculateQParams(), read.CalculateQParams());
                CollectionAssert.AreEqual(expected.Scales.ToArray(), actual.Scales.ToArray(), observer.GetType().Name);
                CollectionAssert.AreEqual(expected.ZeroPoints.ToArray(), actual.ZeroPoints.ToArray(), observer.GetType().Name);
            }
        }
    }

    [TestMethod]
    public void StatisticsOfAnotherPreparationAreRefused()
    {
        var minmax = Prepare(o => new MinMaxObserver(o));
        minmax.Calibrate(Batches(0, 1));
        var histogram = Prepare();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => histogram.LoadStatistics(new MemoryStream(Save(minmax)), source: "shard-a.stats"));
        StringAssert.Contains(e.Message, "'shard-a.stats'");
        StringAssert.Contains(e.Message, "another prepared model");
        var reduced = QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")),
            new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(reduceRange: true, activationObserver: o => new MinMaxObserver(o))));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => reduced.LoadStatistics(new MemoryStream(Save(minmax)))).Message, "fingerprint");
    }

    [TestMethod]
    public void TruncatedWrongMagicAndWrongVersionAreRefused()
    {
        var prepared = Prepare(o => new MinMaxObserver(o));
        prepared.Calibrate(Batches(0, 1));
        var file = Save(prepared);

        var truncated = Refuse(prepared, file[..(file.Length - 5)]);
        StringAssert.Contains(truncated, "checksum");
        StringAssert.Contains(Refuse(prepared, file[..6]), "not a statistics file");
        StringAssert.Contains(Refuse(prepared, []), "not a statistics file");
        var magic = (byte[])file.Clone();
        magic[0] = (byte)'X';
        StringAssert.Contains(Refuse(prepared, magic), "not a statistics file");
        var version = (byte[])file.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(version.AsSpan(8), 99);
        StringAssert.Contains(Refuse(prepared, version), "format version 99");
        var flipped = (byte[])file.Clone();
        flipped[file.Length / 2] ^= 0x40;
        StringAssert.Contains(Refuse(prepared, flipped), "checksum");
    }

    [TestMethod]
    public void NonFiniteValuesAreRefusedEvenWithAValidChecksum()
    {
        var prepared = Prepare(o => new MinMaxObserver(o));
        prepared.Calibrate(Batches(0, 1));
        var body = Save(prepared)[..^32];
        // the last group's min/max are the body's last 8 bytes
        BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(body.Length - 8), float.NaN);
        StringAssert.Contains(Refuse(prepared, Sign(body)), "range [NaN");
        BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(body.Length - 8), 5f);
        BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(body.Length - 4), 1f);
        StringAssert.Contains(Refuse(prepared, Sign(body)), "min ≤ max");
    }

    [TestMethod]
    public void HugeDeclaredCountsAreRefusedBeforeAllocating()
    {
        var prepared = Prepare();
        prepared.Calibrate(Batches(0, 1));
        var body = Save(prepared)[..^32];
        // the last group's histogram: count prefix, then 2048 doubles
        int countAt = body.Length - (HistogramObserver.DefaultBins * 8) - 4;
        Assert.AreEqual(HistogramObserver.DefaultBins, BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(countAt)));
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(countAt), int.MaxValue);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var message = Refuse(prepared, Sign(body));
        StringAssert.Contains(message, "declares 2147483647 entries");
        Assert.IsLessThan(64L << 20, GC.GetAllocatedBytesForCurrentThread() - before, "a hostile count must not allocate its size");

        var negative = Save(prepared)[..^32];
        BinaryPrimitives.WriteDoubleLittleEndian(negative.AsSpan(negative.Length - 8), double.NaN);
        StringAssert.Contains(Refuse(prepared, Sign(negative)), "finite and non-negative");
    }

    [TestMethod]
    public void ANamedFileIsNamedInErrors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mlnetq-stats-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        try
        {
            var e = Assert.ThrowsExactly<InvalidDataException>(() => Prepare().LoadStatistics(path));
            StringAssert.Contains(e.Message, path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Refuse(PreparedModel prepared, byte[] file) =>
        Assert.ThrowsExactly<InvalidDataException>(() => prepared.LoadStatistics(new MemoryStream(file), source: "bad.stats")).Message is var m && m.Contains("'bad.stats'", StringComparison.Ordinal)
            ? m
            : throw new AssertFailedException($"the message does not name the file: {m}");

    private static byte[] Sign(byte[] body) => [.. body, .. SHA256.HashData(body)];
}
