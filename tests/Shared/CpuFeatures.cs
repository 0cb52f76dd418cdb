namespace MLNet.Quantization.TestSupport;

/// <summary>What the test machine's CPU offers, for tolerances that depend on ORT's int8 kernel choice (one file, linked into each test project that needs it).</summary>
internal static class CpuFeatures
{
    /// <summary>True when the CPU has AVX512-VNNI or AVX-VNNI (read from /proc/cpuinfo; false elsewhere).</summary>
    public static bool HasVnni { get; } = File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains("vnni", StringComparison.Ordinal);
}
