namespace MLNet.Quantization.Calibration;

/// <summary>What <see cref="PreparedModel.LoadStatistics(string, StatisticsLoadMode)"/> does with the statistics a prepared model already holds.</summary>
public enum StatisticsLoadMode
{
    /// <summary>
    /// Fold the file's statistics into the model's, as one more calibration call would: observing shards A and B
    /// apart, saving each and loading both equals calibrating on A and B (within the observers' merge rules).
    /// </summary>
    Merge,

    /// <summary>Discard the model's activation statistics and calibration counts, and take the file's.</summary>
    Replace,
}
