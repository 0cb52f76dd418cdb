using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// Decides how a graph is quantized by annotating its nodes; PyTorch's <c>torch.ao.quantization.quantizer.Quantizer</c>.
/// </summary>
/// <remarks>
/// <para>
/// The flow calls <see cref="Annotate"/> on the float graph after constant and BatchNormalization folding, then
/// <see cref="Validate"/>. The quantizer must not change the graph; it only fills <see cref="QuantizationAnnotations"/>.
/// </para>
/// <para>
/// Writing a quantizer: for each node to quantize, <c>annotations.GetOrCreate(node)</c>, put a spec per quantized input
/// index into <see cref="QuantizationAnnotation.InputQSpecMap"/> (activation, weight, bias), optionally an
/// <see cref="QuantizationAnnotation.OutputQSpec"/>, and set <see cref="QuantizationAnnotation.Annotated"/>.
/// Use <see cref="SharedQuantizationSpec"/> to tie tensors together (e.g. both inputs of an Add),
/// <see cref="FixedQParamsQuantizationSpec"/> for ops with a known range (Sigmoid), and
/// <see cref="DerivedQuantizationSpec.Bias"/> for biases. Record nodes left in float with
/// <see cref="QuantizationAnnotations.Skip"/> so the report can say why.
/// </para>
/// </remarks>
public abstract class Quantizer
{
    /// <summary>Annotates the nodes of <paramref name="graph"/> to quantize, in <paramref name="annotations"/>.</summary>
    public abstract void Annotate(OnnxGraph graph, QuantizationAnnotations annotations);

    /// <summary>
    /// The rules of the runtime the quantized model is written for, which the flow applies after <see cref="Annotate"/>
    /// and when converting. The default, <see cref="BackendRules.None"/>, is plain PT2E: Q/DQ exactly where the
    /// annotations say. Override it with <see cref="BackendRules.OnnxRuntime"/> for the rules ONNX Runtime's CPU provider
    /// needs to fuse the QDQ graph into int8 kernels, as <see cref="X86Quantizer"/> does.
    /// </summary>
    public virtual BackendRules Backend => BackendRules.None;

    /// <summary>
    /// Checks the annotations are usable; throws <see cref="QuantizationAnnotationException"/> otherwise. The base checks
    /// their structure (<see cref="QuantizationAnnotations.Validate"/>); overrides should call it and add backend rules.
    /// </summary>
    public virtual void Validate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        annotations.Validate(graph);
    }
}
