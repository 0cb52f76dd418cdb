namespace MLNet.Quantization.Graph;

/// <summary>One input slot of a node: the edge a tensor reaches a consumer through.</summary>
/// <param name="Node">The consuming node.</param>
/// <param name="InputIndex">The index among the node's inputs.</param>
public readonly record struct NodeInput(OnnxNode Node, int InputIndex);
