using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp;

/// <summary>Settings of <see cref="QatModel.Train(float[], int[], QatTrainingOptions, IProgress{QatProgress}?, CancellationToken)"/>.</summary>
public sealed class QatTrainingOptions
{
    /// <summary>Passes over the training data (default 1).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Samples per optimizer step (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Learning rate of the default optimizer (Adam; default 1e-4, a fine-tuning rate).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>
    /// Builds the optimizer from the module's parameters, e.g. <c>p =&gt; optim.SGD(p, 0.01, momentum: 0.9)</c>;
    /// <c>null</c> for Adam with <see cref="LearningRate"/>.
    /// </summary>
    public Func<IEnumerable<Parameter>, optim.Optimizer>? OptimizerFactory { get; init; }

    /// <summary>
    /// The loss from (model output, labels as int64 class indices); <c>null</c> for cross-entropy on the output
    /// (classification logits [N, classes]).
    /// </summary>
    public Func<Tensor, Tensor, Tensor>? Loss { get; init; }

    /// <summary>Seed of <c>torch.manual_seed</c> and of the per-epoch shuffle (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Shuffle the samples each epoch with a generator seeded by <see cref="Seed"/> (default true); false keeps the data order.</summary>
    public bool Shuffle { get; init; } = true;

    internal void Validate()
    {
        if (Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "At least one epoch is needed.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive and finite.");
    }
}
