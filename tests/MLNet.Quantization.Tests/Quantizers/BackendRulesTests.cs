using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>
/// A custom quantizer of a lone Gemm (static or dynamic) that leaves the backend rules at the default (plain PT2E)
/// or opts in to ONNX Runtime's.
/// </summary>
internal sealed class GemmOnlyQuantizer(bool dynamic, bool ortRules) : Quantizer
{
    private static readonly QuantizationSpec Static = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, observerFactory: o => new MinMaxObserver(o));
    private static readonly QuantizationSpec Dynamic = new(QuantDataType.UInt8, QScheme.PerTensorAffine, 0, 255, isDynamic: true, observerFactory: o => new PlaceholderObserver(o));
    private static readonly QuantizationSpec Weight = new(QuantDataType.Int8, QScheme.PerTensorSymmetric, -127, 127, observerFactory: o => new MinMaxObserver(o));

    public override BackendRules Backend => ortRules ? BackendRules.OnnxRuntime : base.Backend;

    public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        var gemm = graph.Nodes.Single(n => n.OpType == "Gemm");
        var a = annotations.GetOrCreate(gemm);
        a.InputQSpecMap[0] = dynamic ? Dynamic : Static;
        a.InputQSpecMap[1] = Weight;
        if (!dynamic)
            a.InputQSpecMap[2] = DerivedQuantizationSpec.Bias(gemm);
        a.Annotated = true;
    }
}

[TestClass]
public sealed class BackendRulesTests
{
    private static readonly float[] Input = [-1f, 0.5f, 2f, -0.25f, 3f, 1f, -2f, 0.75f];

    /// <summary>x [2, 4] → Gemm(w [4, 3], b [3]) → Relu → Neg → y.</summary>
    private static OnnxModel GemmReluModel() => new TestGraphBuilder()
        .Input("x", 2, 4).Output("y", 2, 3).Initializer("w", 4, 3).Initializer("b", 3)
        .Node("Gemm", "gemm", ["x", "w", "b"], ["g"])
        .Node("Relu", "relu", ["g"], ["r"])
        .Node("Neg", "neg", ["r"], ["y"])
        .Build().ToModel();

    private static OnnxGraph Quantize(Quantizer quantizer)
    {
        var prepared = QuantizationFlow.Prepare(GemmReluModel(), quantizer);
        if (prepared.NeedsCalibration)
            prepared.Calibrate([[NamedTensor.FromFloats("x", Input, 2, 4)]]);
        var model = prepared.Convert().Model;

        // the model runs in ONNX Runtime either way
        using var session = new InferenceSession(model.ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(Input, [2, 4]))]);
        Assert.AreEqual(6, results.Single().AsTensor<float>().Length);
        return OnnxGraph.FromModel(model);
    }

    private static int QuantizeLinearsOf(OnnxGraph graph, string tensor) =>
        graph.Nodes.Count(n => n.OpType == "QuantizeLinear" && n.Inputs[0] == tensor);

    [TestMethod]
    public void QuantizerDefaultsToPlainPt2eAndX86QuantizerToOnnxRuntime()
    {
        Assert.AreSame(BackendRules.None, new GemmOnlyQuantizer(dynamic: false, ortRules: false).Backend);
        Assert.AreSame(BackendRules.OnnxRuntime, new X86Quantizer().Backend);
    }

    [TestMethod]
    public void CustomQuantizerWithoutOptInGetsNoOutputCompletion()
    {
        var graph = Quantize(new GemmOnlyQuantizer(dynamic: false, ortRules: false));
        Assert.AreEqual(1, QuantizeLinearsOf(graph, "x"));
        Assert.AreEqual(0, QuantizeLinearsOf(graph, "r"), "plain PT2E quantizes only the annotated edges");
        Assert.AreEqual(0, QuantizeLinearsOf(graph, "g"));
    }

    [TestMethod]
    public void CustomQuantizerOptingInGetsTheOutputQuantizedAfterTheRelu()
    {
        var graph = Quantize(new GemmOnlyQuantizer(dynamic: false, ortRules: true));
        Assert.AreEqual(1, QuantizeLinearsOf(graph, "x"));
        Assert.AreEqual(1, QuantizeLinearsOf(graph, "r"), "ONNX Runtime's rule quantizes the Gemm+Relu output so that it fuses");
    }

    [TestMethod]
    public void DynamicGemmStaysAGemmWithoutOptIn()
    {
        var graph = Quantize(new GemmOnlyQuantizer(dynamic: true, ortRules: false));
        Assert.AreEqual(0, graph.Nodes.Count(n => n.OpType == "DynamicQuantizeMatMul"));
        Assert.AreEqual(1, graph.Nodes.Count(n => n.OpType == "Gemm"));
        Assert.AreEqual(1, graph.Nodes.Count(n => n.OpType == "DynamicQuantizeLinear" && n.Inputs[0] == "x"));
    }

    [TestMethod]
    public void DynamicGemmBecomesDynamicQuantizeMatMulWithOptIn()
    {
        var graph = Quantize(new GemmOnlyQuantizer(dynamic: true, ortRules: true));
        var fused = graph.Nodes.Single(n => n.OpType == "DynamicQuantizeMatMul");
        Assert.AreEqual("com.microsoft", fused.Domain);
        Assert.AreEqual(0, graph.Nodes.Count(n => n.OpType is "Gemm" or "DynamicQuantizeLinear"));
    }
}
