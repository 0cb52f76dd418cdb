namespace MLNet.Quantization.Quantizers;

/// <summary>
/// How one tensor — an input edge or the output of a node — is quantized; PyTorch's
/// <c>torch.ao.quantization.quantizer.QuantizationSpecBase</c>.
/// </summary>
/// <remarks>
/// The hierarchy is closed: the preparation step understands exactly four kinds.
/// <list type="bullet">
/// <item><see cref="QuantizationSpec"/>: observed during calibration (or computed at run time when dynamic).</item>
/// <item><see cref="SharedQuantizationSpec"/>: uses the same quantization parameters as another edge or output.</item>
/// <item><see cref="FixedQParamsQuantizationSpec"/>: a fixed scale and zero point, no observation.</item>
/// <item><see cref="DerivedQuantizationSpec"/>: computed from the parameters of other edges (e.g. a bias).</item>
/// </list>
/// </remarks>
public abstract record QuantizationSpecBase
{
    private protected QuantizationSpecBase()
    {
    }

    /// <summary>Throws <see cref="ArgumentException"/> with a message naming the problem when the spec is inconsistent.</summary>
    /// <remarks>
    /// Constructors validate already; this re-checks specs changed through a <c>with</c> expression, which bypasses
    /// constructors. <see cref="QuantizationAnnotations.Validate"/> calls it on every spec.
    /// </remarks>
    public abstract void Validate();

    /// <summary>Checks a quantized range: both bounds or neither, inside the type, containing 0, not empty.</summary>
    private protected static void ValidateRange(Numerics.QuantDataType dataType, int? quantMin, int? quantMax, string specName)
    {
        if (!Enum.IsDefined(dataType))
            throw new ArgumentException($"{specName}: unknown data type {(int)dataType}.");
        if (quantMin is null != quantMax is null)
            throw new ArgumentException($"{specName}: give both QuantMin and QuantMax, or neither (got QuantMin={Show(quantMin)}, QuantMax={Show(quantMax)}).");
        if (quantMin is int min && quantMax is int max)
        {
            var (typeMin, typeMax) = Numerics.QuantDataTypeExtensions.FullRange(dataType);
            if (min < typeMin || max > typeMax)
                throw new ArgumentException($"{specName}: quantization range [{min}, {max}] is outside {dataType} [{typeMin}, {typeMax}].");
            if (min >= max)
                throw new ArgumentException($"{specName}: quantization range [{min}, {max}] is empty; QuantMin must be below QuantMax.");
            if (min > 0 || max < 0)
                throw new ArgumentException($"{specName}: quantization range [{min}, {max}] must include 0.");
        }
    }

    private static string Show(int? v) => v?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null";
}
