namespace MLNet.Quantization.Diagnostics;

/// <summary>A quantized constant (weight or bias) against its float value.</summary>
/// <param name="FloatName">The float tensor in the float reference graph.</param>
/// <param name="QuantizedName">The integer initializer in the quantized model.</param>
/// <param name="NodeName">The node that reads it (in the quantized model).</param>
/// <param name="OpType">That node's operator.</param>
/// <param name="Role"><c>weight</c>, <c>bias</c> or <c>constant</c>.</param>
/// <param name="SqnrDb">SQNR of the whole tensor, in dB.</param>
/// <param name="ChannelAxis">The output-channel axis (the quantization axis when per-channel), or <c>null</c> for tensors of rank below 2.</param>
/// <param name="WorstChannel">The channel with the lowest SQNR, or <c>null</c> without a channel axis.</param>
/// <param name="WorstChannelSqnrDb">Its SQNR in dB (equal to <paramref name="SqnrDb"/> without a channel axis).</param>
/// <param name="PerChannel">True when the quantization itself is per channel.</param>
public sealed record WeightSqnr(
    string FloatName, string QuantizedName, string NodeName, string OpType, string Role, double SqnrDb, int? ChannelAxis, int? WorstChannel, double WorstChannelSqnrDb, bool PerChannel);

/// <summary>An activation at its quantization point: the float tensor against the quantized model's dequantized value.</summary>
/// <param name="Tensor">The float tensor's name (the QuantizeLinear's input).</param>
/// <param name="QuantizedTensor">The DequantizeLinear output compared with it in the quantized model.</param>
/// <param name="Producer">The node producing the tensor in the float reference (<c>graph input</c> for a model input).</param>
/// <param name="Consumers">The nodes reading the dequantized tensor in the quantized model.</param>
/// <param name="SqnrDb">SQNR over all compared samples, in dB.</param>
public sealed record ActivationSqnr(string Tensor, string QuantizedTensor, string Producer, IReadOnlyList<string> Consumers, double SqnrDb);

/// <summary>A model output, float against quantized (the quantized model as deployed: ONNX Runtime with its optimizations).</summary>
/// <param name="Name">The output's name.</param>
/// <param name="SqnrDb">SQNR over all compared samples, in dB.</param>
/// <param name="Top1Agreement">Share of samples whose arg-max agrees, for outputs of shape [N, classes]; otherwise <c>null</c>.</param>
public sealed record OutputSqnr(string Name, double SqnrDb, double? Top1Agreement);

/// <summary>A quantized tensor the suite could not pair with a float tensor, and why.</summary>
/// <param name="Name">The tensor in the quantized model.</param>
/// <param name="Reason">Why no float counterpart was used.</param>
public sealed record UnmatchedTensor(string Name, string Reason);
