using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Quantizers;

/// <summary>
/// Decides how a graph is quantized by annotating its nodes; PyTorch's <c>torch.ao.quantization.quantizer.Quantizer</c>.
/// </summary>
/// <remarks>
/// <para>
/// The flow calls <see cref="TransformForAnnotation"/> on the float graph after constant and BatchNormalization
/// folding, then <see cref="Annotate"/> and <see cref="Validate"/>. <see cref="TransformForAnnotation"/> is the only place
/// a quantizer may change the graph (as PT2E's <c>transform_for_annotation</c>); <see cref="Annotate"/> only fills
/// <see cref="QuantizationAnnotations"/>. The flow checks this: when the nodes, their inputs, outputs or attributes,
/// the initializers or the graph's inputs and outputs differ after <see cref="Annotate"/> and <see cref="Validate"/>,
/// prepare throws a <see cref="QuantizationAnnotationException"/>.
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
    /// <summary>
    /// Changes the float graph before <see cref="Annotate"/>, for example to decompose an op the quantizer has no pattern
    /// for into ops it has; the default leaves it as it is.
    /// </summary>
    /// <remarks>
    /// The changed graph is what is calibrated and converted, so it must compute the same outputs from the same inputs.
    /// The numeric suite (<c>NumericSuite</c>) compares a quantized model against the float graph without this change,
    /// by tensor name, so tensors this adds have no float counterpart there.
    /// </remarks>
    /// <example>
    /// <code language="csharp">
    /// public override void TransformForAnnotation(OnnxGraph graph)
    /// {
    ///     foreach (var identity in graph.Nodes.Where(n => n.OpType == "Identity" &amp;&amp; !graph.IsGraphOutput(n.Outputs[0])).ToList())
    ///     {
    ///         graph.ReplaceAllUses(identity.Outputs[0], identity.Inputs[0]);
    ///         graph.RemoveNode(identity);
    ///     }
    /// }
    /// </code>
    /// </example>
    public virtual void TransformForAnnotation(OnnxGraph graph)
    {
    }

    /// <summary>
    /// Annotates the nodes of <paramref name="graph"/> to quantize, in <paramref name="annotations"/>. Reads the graph
    /// only; change it in <see cref="TransformForAnnotation"/>.
    /// </summary>
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
