using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Flow;

/// <summary>
/// The public seam quantization-aware training uses (<see cref="PreparedModel.ObserverGroups"/>,
/// <see cref="PreparedModel.RecordObservations"/>, <see cref="PreparedModel.ReobserveWeights"/>), exercised as a
/// training loop outside this library would: feed the groups' observers, record the batches, write weights back.
/// </summary>
[TestClass]
public sealed class ObserverGroupTests
{
    private static PreparedModel PrepareCnn() =>
        QuantizationFlow.Prepare(OnnxModel.Load(TestPaths.Model("fmnist_cnn")), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isQat: true)));

    [TestMethod]
    public void EveryEdgeBelongsToOneGroupAndTheViewsAreStable()
    {
        var prepared = PrepareCnn();
        var groups = prepared.ObserverGroups;
        Assert.AreSame(groups, prepared.ObserverGroups);
        Assert.AreEqual(groups.Count, groups.Select(g => g.Id).Distinct().Count());
        var edges = groups.SelectMany(g => g.Edges).ToList();
        Assert.AreEqual(edges.Count, edges.Distinct().Count(), "an edge is in exactly one group");
        Assert.IsGreaterThanOrEqualTo(prepared.ObserverCount, groups.Count(g => g.Observer is not null));
        Assert.IsTrue(groups.Where(g => g.Kind is QuantGroupKind.Fixed or QuantGroupKind.Derived).All(g => g.Observer is null), "fixed and derived qparams need no observer");
        CollectionAssert.AreEquivalent(
            prepared.ObservedActivations.ToList(),
            groups.Where(g => g.Kind == QuantGroupKind.Activation).SelectMany(g => g.Tensors).Distinct().ToList());
        Assert.IsTrue(groups.Any(g => g.Kind == QuantGroupKind.Derived && !g.IsFakeQuantized), "the int32 biases are derived at convert");
        Assert.IsTrue(groups.Where(g => g.Kind == QuantGroupKind.Weight).All(g => g.IsFakeQuantized && g.Observer!.HasObservations), "weights are observed at prepare");
    }

    [TestMethod]
    public void ObservationsFedOutsideCalibrateAreRecordedAndConverted()
    {
        var prepared = PrepareCnn();
        Assert.ThrowsExactly<InvalidOperationException>(() => prepared.Convert());
        var random = new Random(3);
        foreach (var group in prepared.ObserverGroups.Where(g => g.Kind == QuantGroupKind.Activation))
            group.Observer!.Observe(Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray());
        prepared.RecordObservations(new CalibrationProgress(2, 16, TimeSpan.FromSeconds(1)));

        var quantized = prepared.Convert();
        Assert.AreEqual(16, quantized.Report.CalibrationSamples);
        Assert.IsGreaterThan(0, quantized.Report.QuantizedNodesByOpType.GetValueOrDefault("Conv"));
    }

    [TestMethod]
    public void ReobserveWeightsObservesTheWeightsWrittenBack()
    {
        var prepared = PrepareCnn();
        var weightGroup = prepared.ObserverGroups.First(g => g.Kind == QuantGroupKind.Weight);
        string name = weightGroup.Tensors.First();
        var before = weightGroup.Observer!;
        float oldScale = before.CalculateQParams().Scales.Max();

        var weight = prepared.Graph.Initializers[name];
        prepared.Graph.ReplaceInitializer(TensorData.FromFloats(name, weight.Dims.ToArray(), weight.ToFloatArray().Select(v => v * 4).ToArray()));
        prepared.ReobserveWeights();

        Assert.AreNotSame(before, weightGroup.Observer, "a fresh observer");
        Assert.AreEqual(oldScale * 4, weightGroup.Observer!.CalculateQParams().Scales.Max(), oldScale * 1e-4f);
    }
}
