using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// <c>quantize --mode qat</c>. The <c>mlnet-quantize</c> tool has none (it carries no TorchSharp or libtorch); the
/// <c>mlnet-quantize-qat</c> tool supplies one.
/// </summary>
internal interface IQatMode
{
    /// <summary>Calibrates, trains and converts <paramref name="model"/> as <paramref name="s"/> asks; progress goes to <paramref name="stdout"/>.</summary>
    QuantizedModel Run(OnnxModel model, X86Quantizer quantizer, QuantizeCommand.Settings s, TextWriter stdout);
}
