namespace MLNet.Quantization.TorchSharp.Capture;

/// <summary>A module could not be captured: its type or a hyperparameter is not supported, or the tensor reaching it has the wrong shape.</summary>
public sealed class ModuleCaptureException : NotSupportedException
{
    /// <summary>Creates the exception; the message names the module path and type.</summary>
    public ModuleCaptureException(string modulePath, Type moduleType, string reason)
        : base($"Cannot capture module '{(modulePath.Length == 0 ? "(root)" : modulePath)}' ({moduleType.FullName}): {reason}")
    {
        ModulePath = modulePath;
        ModuleType = moduleType;
    }

    /// <summary>The module's path from the root, dot-separated as <c>named_modules()</c> gives it (e.g. <c>features.3</c>); empty for the root.</summary>
    public string ModulePath { get; }

    /// <summary>The module's .NET type.</summary>
    public Type ModuleType { get; }
}
