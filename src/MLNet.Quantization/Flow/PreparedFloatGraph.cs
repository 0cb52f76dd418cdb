using MLNet.Quantization.Graph;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization;

/// <summary>
/// Prepare's float graph before annotation (opset 13, folded, equalized, batch handled) with what prepare learnt
/// building it; kept by a <see cref="PreparedModel"/> that waits for SmoothQuant's maxima, so that smoothing does not
/// build the float graph again.
/// </summary>
/// <param name="Graph">The float graph.</param>
/// <param name="Quantizer">The quantizer prepare annotates with.</param>
/// <param name="FloatBytes">The float model's size in bytes.</param>
/// <param name="Batch">What was done about a fixed batch dimension.</param>
/// <param name="EqualizedPairs">How many conv pairs cross-layer equalization equalized; null when not asked for.</param>
internal sealed record PreparedFloatGraph(OnnxGraph Graph, Quantizer Quantizer, long FloatBytes, Shapes.BatchOutcome Batch, int? EqualizedPairs);
