using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.TorchSharp.Native;
using MLNet.Quantization.TorchSharp.Qat;

namespace MLNet.Quantization.TorchSharp;

/// <summary>
/// Quantization-aware training (QAT) in the PT2E style: the float model is prepared exactly as for post-training
/// quantization (constant and BatchNorm folding, annotation, shared observers), then turned into a trainable TorchSharp
/// module that fake-quantizes every observed edge, and after training converted to the same QDQ ONNX.
/// </summary>
/// <remarks>
/// BatchNormalization is folded into the preceding Conv before training (eval-mode statistics), so QAT fine-tunes the
/// folded weights; PyTorch's QAT instead keeps BN and simulates the fold while training.
/// </remarks>
public static class QuantizationAwareTraining
{
    /// <summary>
    /// Prepares <paramref name="model"/> for QAT with an <see cref="X86Quantizer"/> set to <paramref name="config"/>
    /// (default: <c>X86Quantizer.GetDefaultConfig(isQat: true)</c>).
    /// </summary>
    /// <param name="model">The float ONNX model to fine-tune.</param>
    /// <param name="config">The X86 quantization config; null for the QAT default (per-channel weights, fake-quantized activations).</param>
    /// <param name="options">Folding and input-shape options, as for <see cref="QuantizationFlow.Prepare"/>; null for the defaults.</param>
    /// <returns>A trainable model: calibrate it, <see cref="QatModel.Train(float[], int[], QatTrainingOptions, IProgress{QatProgress}?, CancellationToken)"/> it, then <see cref="QatModel.Convert"/> it to QDQ.</returns>
    /// <example>
    /// <code language="csharp">
    /// using var qat = QuantizationAwareTraining.Prepare(OnnxModel.Load("cnn.onnx"));
    /// qat.Calibrate(calibrationBatches);
    /// qat.Train(features, labels, new QatTrainingOptions { Epochs = 1, LearningRate = 1e-4 });
    /// qat.Convert().Save("cnn.qat.int8.onnx");
    /// </code>
    /// </example>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="NotSupportedException">The prepared graph has an operator the TorchSharp interpreter cannot run; the message names the node.</exception>
    /// <exception cref="InvalidOperationException">TorchSharp's native library cannot be loaded.</exception>
    public static QatModel Prepare(OnnxModel model, QuantizationConfig? config = null, PrepareOptions? options = null) =>
        Prepare(model, new X86Quantizer().SetGlobal(config ?? X86Quantizer.GetDefaultConfig(isQat: true)), options);

    /// <summary>Prepares <paramref name="model"/> for QAT with any quantizer (its annotations say where fake quantization goes).</summary>
    /// <param name="model">The float ONNX model to fine-tune.</param>
    /// <param name="quantizer">Any quantizer, for example a configured <see cref="X86Quantizer"/>.</param>
    /// <param name="options">Folding and input-shape options; null for the defaults.</param>
    /// <returns>A trainable model that fake-quantizes every annotated edge.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="quantizer"/> is null.</exception>
    /// <exception cref="NotSupportedException">The prepared graph has an operator the TorchSharp interpreter cannot run; the message names the node.</exception>
    /// <exception cref="InvalidOperationException">TorchSharp's native library cannot be loaded.</exception>
    public static QatModel Prepare(OnnxModel model, Quantizer quantizer, PrepareOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(quantizer);
        TorchSharpRuntime.EnsureLoaded();
        var prepared = QuantizationFlow.Prepare(model, quantizer, options);
        var module = new GraphModule(prepared.Graph, prepared.ObserverGroups);
        return new QatModel(prepared, module);
    }
}
