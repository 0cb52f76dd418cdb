using System.CommandLine;
using System.Globalization;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Onnx;

namespace MLNet.Quantization.Cli.Commands;

/// <summary>
/// Calibration in shards (docs/scale-out.md): <c>calibrate</c> writes one shard's statistics file, <c>merge</c>
/// combines statistics files, <c>convert</c> turns the float model and statistics into the QDQ model. The options
/// that shape preparation are <c>quantize</c>'s own definitions, so a shard prepares exactly as <c>quantize</c> would.
/// </summary>
internal static class ShardCommands
{
    /// <summary>quantize's options that decide how the model is prepared (and so the statistics fingerprint).</summary>
    private static readonly string[] PreparationOptions =
        ["--model", "--mode", InputShapeOption.Name, "--activation-observer", "--per-channel", "--reduce-range", "--narrow-convs", "--elementwise", "--exclude", "--max-folded-bytes", "--max-nodes", "--timeout"];

    private static readonly string[] CalibrationOptions = ["--calibration-data", "--calibration-samples", "--batch-size"];

    public static Command CreateCalibrate(TextWriter stdout)
    {
        var output = new Option<string>("--output") { Description = "Where to write this shard's statistics file.", Required = true };
        var command = new Command("calibrate", "Calibrate a float ONNX model on one shard of the data and write its statistics file (combine shards with merge, then convert).");
        AddQuantizeOptions(command, [.. PreparationOptions, .. CalibrationOptions]);
        command.Options.Add(output);
        command.SetAction(parse => Calibrate(ReadSettings(parse, parse.GetValue(output)!), stdout));
        return command;
    }

    public static Command CreateMerge(TextWriter stdout)
    {
        var inputs = new Argument<string[]>("statistics") { Description = "Statistics files written by calibrate or merge for the same model and options.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output") { Description = "Where to write the merged statistics file.", Required = true };
        var command = new Command("merge", "Merge statistics files of the same model into one.") { inputs, output };
        command.SetAction(parse => Merge(parse.GetValue(inputs)!, parse.GetValue(output)!, stdout));
        return command;
    }

    public static Command CreateConvert(TextWriter stdout)
    {
        var statistics = new Option<string[]>("--statistics") { Description = "Statistics file(s) from calibrate or merge; several are merged.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output") { Description = "Where to write the QDQ model.", Required = true };
        var command = new Command("convert", "Write the QDQ model from the float model and calibration statistics (give the options calibrate was given).");
        AddQuantizeOptions(command, PreparationOptions);
        command.Options.Add(statistics);
        command.Options.Add(output);
        command.SetAction(parse => Convert(ReadSettings(parse, parse.GetValue(output)!), parse.GetValue(statistics)!, stdout));
        return command;
    }

    /// <summary>Adds <c>quantize</c>'s definitions of the named options to <paramref name="command"/>.</summary>
    private static void AddQuantizeOptions(Command command, IEnumerable<string> names)
    {
        var quantize = QuantizeCommand.Create(TextWriter.Null, qatMode: null);
        foreach (string name in names)
            command.Options.Add(quantize.Options.Single(o => o.Name == name));
    }

    private static QuantizeCommand.Settings ReadSettings(ParseResult parse, string output)
    {
        T? Value<T>(string name) => parse.CommandResult.Command.Options.Any(o => o.Name == name) ? parse.GetValue<T>(name) : default;
        return new QuantizeCommand.Settings(
            Value<string>("--model")!, output, Value<string>("--mode")!, Value<string?>("--calibration-data"), Value<int>("--calibration-samples"),
            Value<string>("--activation-observer")!, Value<string>("--per-channel") == "true", Value<bool>("--reduce-range"), Value<string?>("--exclude"), Json: null,
            QuantizeNarrowConvs: Value<string>("--narrow-convs") == "int8", BatchSize: Value<int>("--batch-size"),
            InputShapes: InputShapeOption.Parse(Value<string[]>(InputShapeOption.Name)), TimeoutSeconds: Value<double?>("--timeout"),
            MaxFoldedBytes: ByteSizeOption.Parse(Value<string?>("--max-folded-bytes"), "--max-folded-bytes"), MaxNodes: Value<int>("--max-nodes"),
            QuantizeElementwise: Value<string>("--elementwise") == "int8");
    }

    private static int Calibrate(QuantizeCommand.Settings s, TextWriter stdout)
    {
        if (s.CalibrationData is null)
            throw new CliException("calibrate needs --calibration-data");
        if (s.CalibrationSamples <= 0)
            throw new CliException($"--calibration-samples must be positive, got {s.CalibrationSamples}");
        if (s.BatchSize <= 0)
            throw new CliException($"--batch-size must be positive, got {s.BatchSize}");
        OutputPath.Check(s.Output, "--output");
        var ui = CliConsole.For(stdout);
        var observed = TimeoutOption.Run(s.TimeoutSeconds, token =>
        {
            var prepared = Prepare(s, ui, token);
            if (!prepared.NeedsCalibration)
                throw new CliException($"--mode {s.Mode}: '{s.Model}' has no activations to calibrate; quantize it directly");
            int batch = QuantizeCommand.CalibrationBatchSize(s, prepared, ui);
            using var batches = ModelInputs.Stream(prepared.Graph, s.CalibrationData, s.CalibrationSamples, batch, exact: prepared.FixedBatchSize is not null);
            long total = batches.TotalSamples;
            var result = ui.WithProgress("calibrating", total, progress =>
                prepared.Calibrate(batches, new CallbackProgress<CalibrationProgress>(p => progress.Report(p.Samples)), total, token));
            prepared.SaveStatistics(s.Output);
            return result;
        });
        ui.WriteLine(FormattableString.Invariant($"calibrated {s.Model} on {observed.Samples} samples of {s.CalibrationData} ({observed.Batches} batches, {observed.Elapsed.TotalSeconds:F2} s) → {s.Output}"));
        return 0;
    }

    private static int Merge(string[] inputs, string output, TextWriter stdout)
    {
        OutputPath.Check(output, "--output");
        var files = inputs.Select(path => (ReadStatistics(path), path)).ToList();
        var merged = StatisticsFile.Merge(files);
        PendingFile.Write(output, merged.Write);
        CliConsole.For(stdout).WriteLine($"merged {files.Count} statistics files ({merged.Observed.Samples.ToString(CultureInfo.InvariantCulture)} samples, {merged.Groups.Count} observers) → {output}");
        return 0;
    }

    private static int Convert(QuantizeCommand.Settings s, string[] statistics, TextWriter stdout)
    {
        OutputPath.Check(s.Output, "--output");
        foreach (string path in statistics)
        {
            if (!File.Exists(path))
                throw new CliException($"--statistics: '{path}' does not exist");
        }

        var ui = CliConsole.For(stdout);
        var result = TimeoutOption.Run(s.TimeoutSeconds, token =>
        {
            var prepared = Prepare(s, ui, token);
            foreach (string path in statistics)
                prepared.LoadStatistics(path);
            return prepared.Convert();
        });
        result.Save(s.Output);
        ui.WriteLine($"converted {s.Model} with {string.Join(", ", statistics)} → {s.Output}");
        if (ui.IsInteractive)
            QuantizeCommand.WriteSummaryTable(ui, result.Report);
        else
            stdout.WriteLine(result.Report.ToString());
        return 0;
    }

    /// <summary>Loads and prepares the model as <c>quantize</c> does with the same options.</summary>
    private static PreparedModel Prepare(QuantizeCommand.Settings s, CliConsole ui, CancellationToken token)
    {
        if (s.Mode == "qat")
            throw new CliException("calibrate and convert work with --mode static or dynamic, not qat");
        if (s.MaxNodes <= 0)
            throw new CliException($"--max-nodes must be positive, got {s.MaxNodes}");
        return LoadedModel.Load(s, ui).Prepare(token);
    }

    private static StatisticsFile ReadStatistics(string path)
    {
        if (!File.Exists(path))
            throw new CliException($"statistics file '{path}' does not exist");
        using var stream = File.OpenRead(path);
        return StatisticsFile.Read(stream, path);
    }
}
