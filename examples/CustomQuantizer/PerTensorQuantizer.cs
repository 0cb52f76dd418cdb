using MLNet.Quantization.Graph;
using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace CustomQuantizerExample;

/// <summary>
/// A quantizer written against the public annotation API, as a backend author would: per-tensor symmetric int8
/// weights (for kernels without per-channel support), uint8 activations observed with MinMax, int32 biases derived
/// from the input and weight scales, pools and Flatten sharing their input's parameters (SharedQuantizationSpec), Add
/// quantized at its inputs and output, and a lone Relu quantized at its output. Everything else stays in float and is reported with a reason.
/// </summary>
internal sealed class PerTensorQuantizer : Quantizer
{
    // One instance each, so equal specs on the same tensor share an observer.
    private static readonly QuantizationSpec Activation = new(QuantDataType.UInt8, QScheme.PerTensorAffine, observerFactory: o => new MinMaxObserver(o));
    private static readonly QuantizationSpec Weight = new(QuantDataType.Int8, QScheme.PerTensorSymmetric, -127, 127, observerFactory: o => new MinMaxObserver(o));

    // The QDQ models target ONNX Runtime's CPU provider: opt in to its fusion rules (a plain Quantizer gets plain PT2E).
    public override BackendRules Backend => BackendRules.OnnxRuntime;

    public override void Annotate(OnnxGraph graph, QuantizationAnnotations annotations)
    {
        foreach (var node in graph.TopologicalOrder())
        {
            switch (node.OpType)
            {
                case "Conv" or "Gemm" when graph.IsInitializer(node.Inputs[1]):
                    AnnotateWeighted(graph, annotations, node);
                    break;
                case "MaxPool" or "AveragePool" or "GlobalAveragePool" or "Flatten":
                {
                    var a = annotations.GetOrCreate(node);
                    a.InputQSpecMap[0] = Activation;
                    a.OutputQSpec = new SharedQuantizationSpec(QuantizationEdge.Input(node, 0)); // values only move
                    a.Annotated = true;
                    break;
                }

                case "Add" when !graph.IsInitializer(node.Inputs[0]) && !graph.IsInitializer(node.Inputs[1]):
                {
                    // ORT's QLinearAdd takes a scale per input, so each input keeps its producer's parameters
                    // (implicit sharing joins each edge to its producer's output) and the sum gets its own.
                    var a = annotations.GetOrCreate(node);
                    a.InputQSpecMap[0] = Activation;
                    a.InputQSpecMap[1] = Activation;
                    a.OutputQSpec = Activation;
                    a.Annotated = true;
                    break;
                }

                case "Relu" when annotations.Get(node) is null:
                {
                    // a Relu not fused into a Conv or Gemm (after an Add): quantize its output; ORT then drops the
                    // Relu, because a uint8 Q with zero point 0 already clamps at zero
                    var a = annotations.GetOrCreate(node);
                    a.InputQSpecMap[0] = Activation;
                    a.OutputQSpec = Activation;
                    a.Annotated = true;
                    break;
                }

                default:
                    if (annotations.Get(node) is null)
                        annotations.Skip(node, $"{nameof(PerTensorQuantizer)} has no rule for {node.OpType}");
                    break;
            }
        }
    }

    private static void AnnotateWeighted(OnnxGraph graph, QuantizationAnnotations annotations, OnnxNode node)
    {
        var a = annotations.GetOrCreate(node);
        a.InputQSpecMap[0] = Activation;
        a.InputQSpecMap[1] = Weight;
        if (node.Inputs.Count > 2 && graph.IsInitializer(node.Inputs[2]))
            a.InputQSpecMap[2] = DerivedQuantizationSpec.Bias(node); // int32, scale = s_input · s_weight
        a.Annotated = true;

        // Fuse a following Relu: quantize its output instead of the Conv's, so ORT can fold it into the int8 kernel.
        var consumers = graph.GetConsumers(node.Outputs[0]);
        if (consumers.Count == 1 && consumers[0].Node.OpType == "Relu")
        {
            var relu = annotations.GetOrCreate(consumers[0].Node);
            relu.OutputQSpec = Activation;
            relu.Annotated = true;
        }
        else
        {
            a.OutputQSpec = Activation;
        }
    }
}
