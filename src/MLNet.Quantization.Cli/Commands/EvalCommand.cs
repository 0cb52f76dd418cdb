using System.CommandLine;
using MLNet.Quantization.Cli.DataFiles;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Cli.Commands;

/// <summary><c>eval --model M.onnx --data FILE --labels FILE</c>: top-1 accuracy and the confusion counts.</summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "The ONNX model (float or quantized).", Required = true };
        var data = new Option<string>("--data") { Description = "Samples (.npy, .npz or .csv).", Required = true };
        var labels = new Option<string>("--labels") { Description = "Labels (.npy of int64 or int32, shape [N]).", Required = true };
        var command = new Command("eval", "Top-1 accuracy and confusion counts of a classification model.") { model, data, labels };
        command.SetAction(parse =>
        {
            var onnx = CommonOptions.LoadModel(parse.GetValue(model)!);
            var graph = OnnxGraph.FromModel(onnx);
            var input = graph.Inputs.FirstOrDefault() ?? throw new CliException("the model has no inputs");
            var y = LabelFile.Read(parse.GetValue(labels)!, "--labels");
            var batches = ModelInputs.Batches(graph, parse.GetValue(data)!, int.MaxValue, 256);
            int count = batches.Sum(b => b[0].Shape[0]);
            if (count != y.Length)
                throw new CliException($"--data has {count} samples but --labels has {y.Length}");
            var samples = batches.SelectMany(b => b[0].Floats ?? throw new CliException($"input '{input.Name}' is not float")).ToArray();
            using var runner = new ModelRunner(onnx);
            var logits = runner.Run(samples, count);
            int classes = logits.Length / count;
            var confusion = new long[classes, classes];
            int correct = 0;
            for (int i = 0; i < count; i++)
            {
                int predicted = ModelRunner.ArgMax(logits.AsSpan(i * classes, classes));
                long label = y[i];
                if (label < 0 || label >= classes)
                    throw new CliException($"--labels: label {label} at index {i} is outside the model's {classes} classes");
                confusion[label, predicted]++;
                if (predicted == label)
                    correct++;
            }

            stdout.WriteLine($"top-1 accuracy: {(double)correct / count:F4} ({correct}/{count})");
            stdout.WriteLine("confusion (rows = label, columns = predicted):");
            for (int r = 0; r < classes; r++)
                stdout.WriteLine(string.Join(' ', Enumerable.Range(0, classes).Select(c => confusion[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(6))));
            return 0;
        });
        return command;
    }
}
