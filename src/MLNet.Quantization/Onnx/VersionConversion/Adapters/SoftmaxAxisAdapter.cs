using MLNet.Quantization.Graph;

namespace MLNet.Quantization.Onnx.VersionConversion.Adapters;

/// <summary>
/// Softmax, LogSoftmax and Hardmax 11 → 13: before 13 the input is coerced to 2-D at <c>axis</c> (default 1) and the op
/// runs over the flattened trailing dims; from 13 it runs over the single dim <c>axis</c> (default −1). When the old
/// axis is the last dim the two agree and only the axis is written out; otherwise the old behaviour is rebuilt as
/// Flatten(axis) → op(axis = 1) → Reshape back to Shape(input).
/// </summary>
internal sealed class SoftmaxAxisAdapter : OpsetAdapter
{
    public SoftmaxAxisAdapter(string opType)
        : base(opType, 13)
    {
    }

    public override bool NeedsTensorInfo => true;

    public override void Adapt(OnnxNode node, ConversionContext context)
    {
        long axis = node.GetInt("axis", 1);
        string input = node.Inputs[0];
        int? rank = context.Rank(input);
        if (axis == -1 || (rank is { } r && (axis < 0 ? axis + r : axis) == r - 1))
        {
            node.SetInt("axis", axis);
            return;
        }

        var graph = context.Graph;
        string output = node.Outputs[0];
        var proto = node.Proto.Clone();
        graph.RemoveNode(node, replacingProducer: true);
        string shape = graph.UniqueName($"{input}_shape");
        string flat = graph.UniqueName($"{input}_flat");
        string flatOut = graph.UniqueName($"{output}_flat");
        graph.AddNode("Shape", [input], [shape], $"{proto.Name}_shape");
        graph.AddNode("Flatten", [input], [flat], $"{proto.Name}_flatten").SetInt("axis", axis);
        proto.Input[0] = flat;
        proto.Output[0] = flatOut;
        graph.AddNode(proto).SetInt("axis", 1);
        graph.AddNode("Reshape", [flatOut, shape], [output], $"{proto.Name}_reshape");
    }
}
