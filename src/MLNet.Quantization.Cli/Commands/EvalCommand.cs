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
            var labelled = LabelledData.Read(graph, parse.GetValue(data)!, parse.GetValue(labels)!);
            int count = labelled.Count;
            using var runner = new ModelRunner(onnx);
            var ui = CliConsole.For(stdout);
            int sampleSize = labelled.Samples.Length / Math.Max(count, 1);
            var logits = ui.WithProgress("evaluating", count, progress =>
            {
                var parts = new List<float>();
                const int chunk = 1024;
                for (int start = 0; start < count; start += chunk)
                {
                    int n = Math.Min(chunk, count - start);
                    parts.AddRange(runner.Run(labelled.Samples.AsSpan(start * sampleSize, n * sampleSize), n));
                    progress.Report(start + n);
                }

                return parts.ToArray();
            });
            int classes = logits.Length / count;
            var confusion = new long[classes, classes];
            int correct = 0;
            for (int i = 0; i < count; i++)
            {
                int predicted = ModelRunner.ArgMax(logits.AsSpan(i * classes, classes));
                int label = labelled.Labels[i];
                if (label >= classes)
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
