using System.Globalization;
using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Cli.DataFiles;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.TorchSharp;

namespace MLNet.Quantization.Cli.Qat;

/// <summary>
/// <c>quantize --mode qat</c>: calibrate, then quantization-aware training with cross-entropy on the model's first
/// output (Adam, batches of 64, seed 0), then convert. The only code of the tools that touches TorchSharp; it lives in
/// the mlnet-quantize-qat tool so that mlnet-quantize carries no libtorch.
/// </summary>
internal sealed class QatQuantize : IQatMode
{
    private const int BatchSize = 64;

    /// <inheritdoc />
    public QuantizedModel Run(OnnxModel model, X86Quantizer quantizer, QuantizeCommand.Settings s, TextWriter stdout)
    {
        using var qat = QuantizationAwareTraining.Prepare(model, quantizer, new PrepareOptions { MaxNodeCount = s.MaxNodes });
        var graph = qat.Prepared.Graph;
        if (graph.Inputs.Count != 1 || qat.SampleShape.Count == 0)
            throw new CliException($"--mode qat needs a model with one float input of fixed shape apart from the batch axis; '{s.Model}' has {string.Join(", ", graph.Inputs)}");
        var (features, labels) = LabelledData.Read(graph, s.TrainData!, s.TrainLabels!, "--train-data", "--train-labels");
        CheckClasses(graph, labels, s.TrainLabels!);

        var calibration = qat.Calibrate(ModelInputs.Batches(graph, s.CalibrationData!, s.CalibrationSamples, qat.Prepared.FixedBatchSize ?? s.BatchSize, exact: qat.Prepared.FixedBatchSize is not null));
        stdout.WriteLine($"calibrated on {calibration.Samples} samples; training {s.Epochs} epoch(s) on {labels.Length} samples");
        var progress = new EpochReporter(stdout);
        qat.Train(features, labels, new QatTrainingOptions { Epochs = s.Epochs!.Value, LearningRate = s.LearningRate!.Value, BatchSize = BatchSize }, progress);
        return qat.Convert();
    }

    private static void CheckClasses(OnnxGraph graph, int[] labels, string path)
    {
        if (graph.Outputs[0].Shape is [_, { Value: long classes }] && labels.Max() >= classes)
            throw new CliException($"--train-labels: label {labels.Max()} in '{path}' is outside the model's {classes} classes");
    }

    /// <summary>Prints one line per epoch (the CLI's progress), synchronously.</summary>
    private sealed class EpochReporter(TextWriter stdout) : IProgress<QatProgress>
    {
        public void Report(QatProgress value)
        {
            if (value.IsEndOfEpoch)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch}: mean loss {value.EpochLoss:F4}, {value.Elapsed.TotalSeconds:F1} s"));
        }
    }
}
