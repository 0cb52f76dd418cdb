using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNet.Quantization.RealModels.Tests.Models;

/// <summary>An ONNX Runtime session over a single-input, single-output model with free input shapes (N×3×H×W detectors).</summary>
internal sealed class OrtModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;

    public OrtModel(byte[] model)
    {
        using var options = Runtime.OrtSessionOptions.Create(GraphOptimizationLevel.ORT_ENABLE_ALL);
        _session = new InferenceSession(model, options);
        _input = _session.InputMetadata.Keys.Single();
    }

    public string InputName => _input;

    /// <summary>Runs one batch of <paramref name="shape"/>; returns the output's values.</summary>
    public float[] Run(float[] data, params int[] shape)
    {
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<float>(data, shape))]);
        return results.Single().AsTensor<float>().ToArray();
    }

    public void Dispose() => _session.Dispose();
}
