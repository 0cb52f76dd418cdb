namespace MLNet.Quantization.Calibration;

/// <summary>
/// The calibration data cannot give quantization parameters: for example every value an observed tensor took was NaN
/// or infinite. The message names the tensors at fault.
/// </summary>
public sealed class CalibrationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CalibrationException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
