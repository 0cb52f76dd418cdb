using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.RealModels.Tests.Models;

/// <summary>The library's defaults end to end: X86 static config, prepare, calibrate on the given samples, convert.</summary>
internal static class DefaultQuantization
{
    /// <summary>Quantizes the model at <paramref name="path"/>, calibrating on <paramref name="samples"/> (one [C,H,W] sample each) in batches.</summary>
    /// <param name="options">Preparation options; null for the defaults.</param>
    /// <param name="quantizer">The quantizer (its global config is set here); null for a default <see cref="X86Quantizer"/>.</param>
    public static QuantizedModel Run(string path, IReadOnlyList<float[]> samples, int[] sampleShape, int batchSize, PrepareOptions? options = null, X86Quantizer? quantizer = null)
    {
        var prepared = QuantizationFlow.Prepare(OnnxModel.Load(path), (quantizer ?? new X86Quantizer()).SetGlobal(X86Quantizer.GetDefaultConfig()), options);
        string input = prepared.Graph.Inputs.Single().Name;
        prepared.Calibrate(Batches(samples, sampleShape, batchSize, input));
        return prepared.Convert();
    }

    /// <summary>Stacks <paramref name="samples"/> into batches of at most <paramref name="batchSize"/>.</summary>
    public static IEnumerable<IReadOnlyList<NamedTensor>> Batches(IReadOnlyList<float[]> samples, int[] sampleShape, int batchSize, string input)
    {
        for (int start = 0; start < samples.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, samples.Count - start);
            yield return [NamedTensor.FromFloats(input, Stack(samples, start, n), [n, .. sampleShape])];
        }
    }

    public static float[] Stack(IReadOnlyList<float[]> samples, int start, int count)
    {
        int size = samples[start].Length;
        var data = new float[count * size];
        for (int i = 0; i < count; i++)
            samples[start + i].CopyTo(data, i * size);
        return data;
    }
}
