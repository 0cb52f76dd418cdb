namespace MLNet.Quantization.RealModels.Tests.Models;

/// <summary>
/// An optional algorithm the real-model tests measure instead of the plain defaults, chosen by the environment variable
/// <c>MLNET_REALMODELS_VARIANT</c> (unset: the defaults, as CI runs them; <c>cle</c>: cross-layer equalization), so that
/// the same tests print the task metrics of each variant without adding to the default test time.
/// </summary>
internal static class MeasuredVariant
{
    private static string Name => Environment.GetEnvironmentVariable("MLNET_REALMODELS_VARIANT") ?? "";

    /// <summary>True when the variant asks for cross-layer equalization.</summary>
    public static bool CrossLayerEqualization => Name.Split(',').Contains("cle", StringComparer.OrdinalIgnoreCase);

    /// <summary>The prepare options of the variant; null for the defaults.</summary>
    public static PrepareOptions? Options => CrossLayerEqualization ? new PrepareOptions { CrossLayerEqualization = true } : null;

    /// <summary>A label for the printed figures.</summary>
    public static string Label => Name.Length == 0 ? "defaults" : Name;
}
