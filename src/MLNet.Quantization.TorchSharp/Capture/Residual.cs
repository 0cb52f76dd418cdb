using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>
/// A residual block, <c>f(x) + shortcut(x)</c>, where the shortcut is the identity unless given (e.g. a strided 1×1
/// conv with BatchNorm for a downsampling ResNet block). <see cref="TorchSharpExporter"/> captures it as an ONNX <c>Add</c>.
/// </summary>
public sealed class Residual : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> body;
    private readonly nn.Module<Tensor, Tensor>? shortcut;

    /// <summary>Wraps <paramref name="body"/>; the block computes <c>body(x) + x</c>, or <c>body(x) + shortcut(x)</c> when a shortcut is given.</summary>
    /// <param name="body">The residual branch f.</param>
    /// <param name="shortcut">The shortcut branch; null for the identity.</param>
    /// <param name="name">The module's name.</param>
    /// <exception cref="InvalidOperationException">TorchSharp's native library could not be loaded.</exception>
    public Residual(nn.Module<Tensor, Tensor> body, nn.Module<Tensor, Tensor>? shortcut = null, string name = nameof(Residual)) : base(Loaded(name))
    {
        ArgumentNullException.ThrowIfNull(body);
        this.body = body;
        this.shortcut = shortcut;
        RegisterComponents();
    }

    private static string Loaded(string name)
    {
        Native.TorchSharpRuntime.EnsureLoaded();
        return name;
    }

    /// <summary>The residual branch f.</summary>
    public nn.Module<Tensor, Tensor> Body => body;

    /// <summary>The shortcut branch, or null for the identity.</summary>
    public nn.Module<Tensor, Tensor>? Shortcut => shortcut;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = body.forward(input);
        var s = shortcut is null ? input : shortcut.forward(input);
        if (!y.shape.SequenceEqual(s.shape))
            throw new InvalidOperationException($"Residual '{GetName()}': the body gives [{string.Join(", ", y.shape)}] but the shortcut gives [{string.Join(", ", s.shape)}]; they must match.");
        return (y + s).MoveToOuterDisposeScope();
    }
}
