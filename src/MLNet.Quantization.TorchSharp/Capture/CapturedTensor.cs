namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// A tensor of the graph being built: its name and its shape at the capture batch size. <see cref="BatchLeading"/>
/// says whether dimension 0 is still the batch (declared symbolic when the batch is dynamic).
/// </summary>
internal sealed record CapturedTensor(string Name, long[] Shape, bool BatchLeading)
{
    public int Rank => Shape.Length;

    public string Describe() => $"[{string.Join(", ", Shape)}]";
}
