using TorchSharp;

namespace MLNet.Quantization.TorchSharp.Native;

/// <summary>
/// Loads TorchSharp's native libraries once and turns a load failure into an error that says what to do.
/// </summary>
internal static class TorchSharpRuntime
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Makes sure libtorch and libLibTorchSharp load in this process.
    /// </summary>
    /// <exception cref="InvalidOperationException">TorchSharp's native library could not be loaded; the message names the cause.</exception>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
            throw new InvalidOperationException(
                "TorchSharp's native library (libLibTorchSharp.so) could not be loaded. TorchSharp-cpu 0.107 needs GLIBCXX_3.4.32; "
                + "on older libstdc++ (Debian 12, Ubuntu 22.04) the build/MLNet.Quantization.TorchSharp.targets file patches the copy in the build output. "
                + "Make sure the project imports it (NuGet does this for package references) and that MLNetQuantizationPatchTorchSharp is not false. "
                + $"Cause: {Innermost(failure).Message}", failure);
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var probe = torch.zeros(1);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException or EntryPointNotFoundException)
        {
            return e;
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }
}
