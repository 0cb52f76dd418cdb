namespace MLNet.Quantization.Cli;

/// <summary>An <see cref="IProgress{T}"/> that calls back synchronously on the reporting thread.</summary>
internal sealed class CallbackProgress<T>(Action<T> callback) : IProgress<T>
{
    public void Report(T value) => callback(value);
}
