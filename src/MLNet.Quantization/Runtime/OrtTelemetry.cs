using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Runtime;

/// <summary>
/// Keeps ONNX Runtime's telemetry off: without this, ORT writes a device id and an events database under
/// ~/.cache/Microsoft/DeveloperTools/.onnxruntime and looks up an external events host from every session.
/// ORT reads ORT_DISABLE_TELEMETRY from the native environment when it first initializes, which can happen as soon as
/// any ORT type is touched, so it is set when this assembly loads; .NET's Environment.SetEnvironmentVariable does not
/// reach the native environment on Unix, hence setenv.
/// </summary>
internal static class OrtTelemetry
{
    private static int _disabled;

#pragma warning disable CA2255 // Must run before any ORT type initializes the native library, whichever entry point is used first.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void SetEnvironment()
    {
        if (OperatingSystem.IsWindows())
            Environment.SetEnvironmentVariable("ORT_DISABLE_TELEMETRY", "1");
        else
            _ = SetNativeEnvironmentVariable("ORT_DISABLE_TELEMETRY", "1", 0);
    }

    /// <summary>Also turns telemetry events off through ORT's API, once, before the first session.</summary>
    internal static void DisableEvents()
    {
        if (Interlocked.Exchange(ref _disabled, 1) == 0)
            OrtEnv.Instance().DisableTelemetryEvents();
    }

    // Every string is marshaled as UTF-8 (LPUTF8Str); CA2101 knows only LPStr/LPWStr (dotnet/roslyn-analyzers#7502).
    [SuppressMessage("Interoperability", "CA2101:Specify marshaling for P/Invoke string arguments", Justification = "UTF-8 is explicit")]
    [DllImport("libc", EntryPoint = "setenv")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetNativeEnvironmentVariable(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
