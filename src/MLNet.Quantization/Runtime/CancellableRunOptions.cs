using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// ORT run options that a cancellation token stops: cancelling sets <see cref="RunOptions.Terminate"/>, which ORT
/// checks between the nodes it runs (and between a Loop's iterations), so a run in progress ends too, not only the
/// next one. <see cref="OrtBoundary.Run{T}(Func{T}, string, string, CancellationToken)"/> turns the failure ORT then
/// reports into an <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class CancellableRunOptions : IDisposable
{
    private readonly CancellationTokenRegistration _registration;

    /// <summary>Creates run options that <paramref name="cancellationToken"/> terminates.</summary>
    public CancellableRunOptions(CancellationToken cancellationToken)
    {
        Options = new RunOptions();
        Token = cancellationToken;
        _registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, Options);
    }

    /// <summary>The options to pass to <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>.</summary>
    public RunOptions Options { get; }

    /// <summary>The token that terminates the runs.</summary>
    public CancellationToken Token { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        _registration.Dispose(); // waits for a callback in progress, so Options is not used after it is disposed
        Options.Dispose();
    }
}
