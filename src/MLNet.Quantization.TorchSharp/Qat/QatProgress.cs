namespace MLNet.Quantization.TorchSharp;

/// <summary>Progress of quantization-aware training, reported after every batch.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Batch">The batch within the epoch, from 1.</param>
/// <param name="BatchesPerEpoch">Batches in one epoch.</param>
/// <param name="Loss">This batch's loss.</param>
/// <param name="EpochLoss">The mean loss of the epoch's batches so far.</param>
/// <param name="Elapsed">Time since training started.</param>
public readonly record struct QatProgress(int Epoch, int Batch, int BatchesPerEpoch, double Loss, double EpochLoss, TimeSpan Elapsed)
{
    /// <summary>True on the last batch of an epoch.</summary>
    public bool IsEndOfEpoch => Batch == BatchesPerEpoch;
}

/// <summary>What <see cref="QatModel.Train(float[], int[], QatTrainingOptions, IProgress{QatProgress}?, CancellationToken)"/> did.</summary>
/// <param name="EpochLosses">The mean loss of each epoch.</param>
/// <param name="Batches">Optimizer steps taken.</param>
/// <param name="Samples">Samples seen (counting each epoch).</param>
/// <param name="Elapsed">Training time.</param>
public sealed record QatTrainingResult(IReadOnlyList<double> EpochLosses, int Batches, long Samples, TimeSpan Elapsed);
