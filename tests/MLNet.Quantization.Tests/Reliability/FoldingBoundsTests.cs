using System.Diagnostics;
using System.Security.Cryptography;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Passes;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Tests.Shared;
using MLNet.Quantization.Tests.TestSupport;

namespace MLNet.Quantization.Tests.Reliability;

/// <summary>
/// Constant folding is bounded: a tensor over <see cref="PrepareOptions.MaxFoldedTensorBytes"/> (known from shapes before
/// it is computed) is refused naming the node, the limit can be raised, a node over the work limit stays unfolded, nodes
/// with subgraphs are never evaluated, and the bundled models fold exactly as without limits.
/// The memory and time of these models through the tool are in the CLI's FoldingAndTimeoutTests.
/// </summary>
[TestClass]
public sealed class FoldingBoundsTests
{
    private static OnnxModel Model(byte[] bytes) => OnnxModel.Load(bytes, "hostile.onnx");

    private static PreparedModel Prepare(byte[] model, PrepareOptions? options = null) =>
        QuantizationFlow.Prepare(Model(model), new X86Quantizer().SetGlobal(X86Quantizer.GetDefaultConfig(isDynamic: true)), options);

    [TestMethod]
    public void TheDoublingBombIsRefusedNamingTheFirstNodeOverTheLimitBeforeComputingIt()
    {
        // [4, 1024·2^i] floats: double_12 is 64 MiB (the limit), double_13 would be 128 MiB and double_20 16 GiB
        var watch = Stopwatch.StartNew();
        var ex = Assert.ThrowsExactly<OnnxGraphException>(() => Prepare(HostileModels.DoublingBomb(20)));
        StringAssert.Contains(ex.Message, "node 'double_13' (Concat)");
        StringAssert.Contains(ex.Message, "[4, 8388608] would take 128 MiB, over the 64 MiB limit");
        StringAssert.Contains(ex.Message, "MaxFoldedTensorBytes");
        Assert.IsLessThan(20.0, watch.Elapsed.TotalSeconds, "it stopped at the limit");
    }

    [TestMethod]
    public void A16GiBConstantOfShapeIsRefusedFromItsShapeAlone()
    {
        long before = GC.GetTotalAllocatedBytes();
        var ex = Assert.ThrowsExactly<OnnxGraphException>(() => Prepare(HostileModels.HugeConstantOfShape(65536, 65536)));
        StringAssert.Contains(ex.Message, "node 'huge' (ConstantOfShape)");
        StringAssert.Contains(ex.Message, "[65536, 65536] would take 16 GiB");
        Assert.IsLessThan(256L << 20, GC.GetTotalAllocatedBytes() - before, "nothing of its size was allocated");
    }

    [TestMethod]
    public void TheLimitIsAnOptionAndRaisingItFolds()
    {
        var model = HostileModels.FoldableConstant(512 * 1024); // 2 MiB once folded
        var refused = Assert.ThrowsExactly<OnnxGraphException>(() => Prepare(model, new PrepareOptions { MaxFoldedTensorBytes = 1 << 20 }));
        StringAssert.Contains(refused.Message, "node 'fill' (ConstantOfShape)");
        StringAssert.Contains(refused.Message, "over the 1 MiB limit");

        var folded = Prepare(model, new PrepareOptions { MaxFoldedTensorBytes = 4 << 20 }).Graph;
        Assert.IsFalse(folded.Nodes.Any(n => n.OpType is "ConstantOfShape" or "Mul" or "ReduceMean"), "the whole constant chain was folded");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PrepareOptions { MaxFoldedTensorBytes = 0 });
    }

    [TestMethod]
    public void TheDefaultLimitIsFourTimesTheInitializersWhenThatIsOver64MiB()
    {
        var graph = OnnxGraph.FromModel(Model(HostileModels.FoldableConstant(4)));
        Assert.AreEqual(FoldingLimits.MinDefaultTensorBytes, FoldingLimits.For(graph, null).MaxTensorBytes);
        graph.AddInitializer(TensorData.FromFloats("big", [5, 1 << 20], new float[5 << 20])); // 20 MiB
        long initializers = FoldingLimits.InitializerBytes(graph);
        Assert.IsGreaterThan(20L << 20, initializers);
        Assert.AreEqual(4 * initializers, FoldingLimits.For(graph, null).MaxTensorBytes);
        Assert.AreEqual(123L, FoldingLimits.For(graph, 123).MaxTensorBytes);
    }

    [TestMethod]
    public void MatMulsOverTheWorkLimitStayUnfoldedAndTheModelStillRuns()
    {
        // 2048³ ≈ 8.6e9 multiply-adds each, over the 2^30 limit; the 16 MiB ConstantOfShape inputs are within the size limit
        var graph = OnnxGraph.FromModel(Model(HostileModels.ConstantMatMuls(2048)));
        var watch = Stopwatch.StartNew();
        var outcome = ConstantFoldingPass.Run(graph, FoldingLimits.For(graph, null), CancellationToken.None);
        Assert.IsLessThan(10.0, watch.Elapsed.TotalSeconds, "the MatMuls were not evaluated");
        Assert.AreEqual(2, outcome.Folded, "the two ConstantOfShape nodes");
        var left = outcome.Unfolded.Single();
        Assert.AreEqual("matmul_1", left.Node.Name);
        Assert.IsFalse(left.OverSize);
        StringAssert.Contains(left.Reason, "multiply-adds, over the");
        CollectionAssert.IsSubsetOf(new[] { "matmul_1", "matmul_2", "mean" }, graph.Nodes.Select(n => n.Name).ToList(), "matmul_2 and what follows read it, so they stay too");
    }

    [TestMethod]
    public void NodesWithSubgraphsAreNotEvaluatedEvenWhenTheirInputsAreConstant()
    {
        // a 2^62-trip Loop over constants: evaluating it would never end
        var graph = OnnxGraph.FromModel(Model(HostileModels.HugeLoop(1L << 62, constantState: true)));
        var outcome = ConstantFoldingPass.Run(graph, FoldingLimits.For(graph, null), CancellationToken.None);
        Assert.AreEqual(0, outcome.Folded);
        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "Loop"));
    }

    [TestMethod]
    [DataRow("fmnist_cnn")]
    [DataRow("fmnist_mobile")]
    [DataRow("fmnist_rowtf")]
    public void TheBundledModelsFoldExactlyAsWithoutLimits(string name)
    {
        var bounded = OnnxGraph.FromModel(OnnxModel.Load(TestPaths.Model(name)));
        var unbounded = OnnxGraph.FromModel(OnnxModel.Load(TestPaths.Model(name)));
        var a = ConstantFoldingPass.Run(bounded, FoldingLimits.For(bounded, null), CancellationToken.None);
        var b = ConstantFoldingPass.Run(unbounded, new FoldingLimits(long.MaxValue / 8, long.MaxValue), CancellationToken.None);
        Assert.IsEmpty(a.Unfolded);
        Assert.AreEqual(b.Folded, a.Folded);
        Assert.AreEqual(name == "fmnist_cnn" ? 0 : 1, Math.Sign(a.Folded), "rowtf folds Transposes and Constants, mobile Constants, cnn nothing");
        Assert.AreEqual(Convert.ToHexString(SHA256.HashData(unbounded.ToModel().ToBytes())), Convert.ToHexString(SHA256.HashData(bounded.ToModel().ToBytes())));
    }
}
