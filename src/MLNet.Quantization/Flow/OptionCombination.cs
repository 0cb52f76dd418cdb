namespace MLNet.Quantization;

/// <summary>The rule an <see cref="OptionCombination"/> breaks; each front end words it with its own option names.</summary>
internal enum OptionConflict
{
    /// <summary>The options combine.</summary>
    None,

    /// <summary>SmoothQuant's α is not in (0, 1].</summary>
    SmoothQuantAlphaOutOfRange,

    /// <summary>SmoothQuant without static mode (dynamic mode measures ranges at run time, after the smoothing).</summary>
    SmoothQuantNeedsStatic,

    /// <summary>SmoothQuant with a placement search (accuracy-aware, output-SQNR repair or speed-aware): those prepare without it.</summary>
    SmoothQuantWithSearch,

    /// <summary>Speed-aware placement with another placement search (accuracy-aware or output-SQNR repair).</summary>
    SpeedAwareWithSearch,
}

/// <summary>
/// The options of one quantize run that constrain each other (SmoothQuant, the placement searches, the mode), checked
/// in one place for <see cref="QuantizationFlow.Prepare(Onnx.OnnxModel, Quantizers.Quantizer, PrepareOptions?, CancellationToken)"/>,
/// the ML.NET estimator and the CLI.
/// </summary>
/// <param name="Static">Static quantization (calibrated activation ranges).</param>
/// <param name="SmoothQuantAlpha">SmoothQuant's α, null when off.</param>
/// <param name="AccuracyAware">The accuracy-aware search is asked for.</param>
/// <param name="OutputSqnrRepair">The output-SQNR repair is asked for.</param>
/// <param name="SpeedAware">Speed-aware placement is asked for.</param>
internal readonly record struct OptionCombination(bool Static, double? SmoothQuantAlpha = null, bool AccuracyAware = false, bool OutputSqnrRepair = false, bool SpeedAware = false)
{
    /// <summary>The first rule the combination breaks, or <see cref="OptionConflict.None"/>.</summary>
    public OptionConflict Check()
    {
        if (SmoothQuantAlpha is { } alpha)
        {
            if (!(alpha > 0 && alpha <= 1))
                return OptionConflict.SmoothQuantAlphaOutOfRange;
            if (!Static)
                return OptionConflict.SmoothQuantNeedsStatic;
            if (AccuracyAware || OutputSqnrRepair || SpeedAware)
                return OptionConflict.SmoothQuantWithSearch;
        }

        if (SpeedAware && (AccuracyAware || OutputSqnrRepair))
            return OptionConflict.SpeedAwareWithSearch;
        return OptionConflict.None;
    }
}
