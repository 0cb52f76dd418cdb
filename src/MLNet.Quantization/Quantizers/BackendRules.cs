using MLNet.Quantization.Backends.OnnxRuntime;
using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// The rules of the runtime a quantized model is written for, which the flow applies around PT2E's placement: after
/// the quantizer annotates (prepare) and after Q/DQ is written (convert). A quantizer picks them with
/// <see cref="Quantizer.Backend"/>.
/// </summary>
/// <remarks>
/// <para><see cref="None"/> is plain PT2E: QuantizeLinear/DequantizeLinear exactly where the annotations say.</para>
/// <para><see cref="OnnxRuntime"/> (what <see cref="X86Quantizer"/> uses) shapes the QDQ graph so that ONNX Runtime's
/// CPU execution provider fuses it into int8 kernels: a quantized Conv, Gemm or MatMul whose output no consumer
/// quantizes gets an output spec equal to its input activation spec, unless
/// <see cref="PrepareOptions.CompleteForOrtFusion"/> is off; a dynamically quantized Gemm becomes
/// <c>com.microsoft:DynamicQuantizeMatMul</c>; and a float Relu or Clip feeding a MaxPool whose output is quantized
/// moves after the pool, so the pool runs in fp32 and the activation folds into the QuantizeLinear; a Div or Mul by a
/// positive scalar constant reading a DequantizeLinear is folded into its scale (attention's 1/√d, so that ORT fuses
/// QLinearSoftmax); and a quantized MatMul on an N-D input followed by a constant bias Add becomes
/// <c>Reshape → Gemm</c> with an int32 bias <c>→ Reshape</c>, which ORT runs as one QGemm.</para>
/// </remarks>
/// <example>
/// A custom quantizer whose QDQ models should fuse in ONNX Runtime opts in:
/// <code language="csharp">
/// sealed class MyQuantizer : Quantizer
/// {
///     public override BackendRules Backend => BackendRules.OnnxRuntime;
///     public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations) { /* ... */ }
/// }
/// </code>
/// </example>
public abstract class BackendRules
{
    private static readonly HashSet<string> WeightedOps = new(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul", "ConvTranspose" };

    private protected BackendRules()
    {
    }

    /// <summary>Plain PT2E: no rule beyond the annotations.</summary>
    public static BackendRules None { get; } = new PlainRules();

    /// <summary>ONNX Runtime's CPU execution provider (see the remarks).</summary>
    public static BackendRules OnnxRuntime => OrtBackendRules.Instance;

    /// <summary>The weighted ops the report lists as left in float when no annotation covers them.</summary>
    internal virtual IReadOnlySet<string> ReportedComputeOps => WeightedOps;

    /// <summary>Prepare: completes the quantizer's annotations for the runtime (before they are validated and resolved).</summary>
    internal virtual void CompleteAnnotations(OnnxGraph graph, QuantizationAnnotations annotations)
    {
    }

    /// <summary>
    /// Convert, before Q/DQ is written: rewrites the nodes the runtime runs as its own quantized operators, from
    /// <paramref name="edges"/> (with computed qparams); returns them, so that the Q/DQ writer leaves their edges alone.
    /// </summary>
    internal virtual IReadOnlySet<OnnxNode> WriteRuntimeNodes(OnnxGraph graph, IReadOnlyList<(QuantizationEdge Edge, QuantGroup Group)> edges) =>
        new HashSet<OnnxNode>(ReferenceEqualityComparer.Instance);

    /// <summary>Convert, after Q/DQ is written: value-preserving rewrites that help the runtime fuse.</summary>
    internal virtual void RewriteQdqGraph(OnnxGraph graph)
    {
    }

    private sealed class PlainRules : BackendRules
    {
    }
}
