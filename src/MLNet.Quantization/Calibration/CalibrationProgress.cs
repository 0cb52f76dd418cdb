namespace MLNet.Quantization.Calibration;

/// <summary>Progress of calibration, reported after each batch.</summary>
/// <param name="Batches">Batches run so far.</param>
/// <param name="Samples">Samples (rows along the batch dimension) run so far.</param>
/// <param name="Elapsed">Time spent so far.</param>
public readonly record struct CalibrationProgress(int Batches, long Samples, TimeSpan Elapsed);
