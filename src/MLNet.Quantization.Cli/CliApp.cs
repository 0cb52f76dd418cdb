using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Calibration;
using MLNet.Quantization.Graph;
using MLNet.Quantization.Onnx;
using MLNet.Quantization.Quantizers;
using MLNet.Quantization.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization.Cli;

/// <summary>
/// The <c>mlnet-quantize</c> tool. Exit codes: 0 success; 2 bad input (one <c>error:</c> line naming the file, option,
/// node or tensor at fault); 1 internal failure (<c>MLNET_QUANTIZE_DEBUG=1</c> adds the stack trace).
/// </summary>
internal static class CliApp
{
    /// <summary>Runs the tool with the given writers; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, qatMode: null);

    /// <summary>
    /// A tool's entry point: runs it on the console, deleting the temporary files of saves in progress on SIGINT/SIGTERM
    /// (no finally block runs then) before the signal ends the process.
    /// </summary>
    internal static int RunOnConsole(string[] args, IQatMode? qatMode)
    {
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => PendingFile.DeleteAllPending());
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => PendingFile.DeleteAllPending());
        return Run(args, Console.Out, Console.Error, qatMode);
    }

    /// <summary>Runs the tool, with <c>--mode qat</c> when <paramref name="qatMode"/> is given; returns the exit code.</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, IQatMode? qatMode)
    {
        var root = new RootCommand(qatMode is null
            ? "mlnet-quantize: int8 quantization of ONNX models for ONNX Runtime (x86)."
            : "mlnet-quantize-qat: mlnet-quantize with quantization-aware training (quantize --mode qat, TorchSharp).");
        root.Subcommands.Add(QuantizeCommand.Create(stdout, qatMode));
        root.Subcommands.Add(InspectCommand.Create(stdout));
        root.Subcommands.Add(EvalCommand.Create(stdout));
        root.Subcommands.Add(BenchCommand.Create(stdout));
        root.Subcommands.Add(CompareCommand.Create(stdout));
        root.Subcommands.Add(ConvertOpsetCommand.Create(stdout));
        root.Subcommands.Add(ShardCommands.CreateCalibrate(stdout));
        root.Subcommands.Add(ShardCommands.CreateMerge(stdout));
        root.Subcommands.Add(ShardCommands.CreateConvert(stdout));
        var verbose = new Option<bool>("--verbose")
        {
            Description = "Also show ONNX Runtime's own warnings on stderr (hidden otherwise; its errors always reach the message)",
            Recursive = true,
        };
        root.Options.Add(verbose);
        ParseResult parse = root.Parse(args);
        if (NamesNoCommand(args, root))
        {
            // No command, or one that does not exist: the help on stdout, one error line on stderr, exit 2.
            root.Parse("--help").Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
            CliConsole.WriteError(stderr, args.Length == 0 || args[0].Length == 0
                ? $"give a command: {string.Join(", ", root.Subcommands.Select(c => c.Name))}"
                : $"unknown command '{args[0]}'; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}");
            return 2;
        }

        if (parse.Errors.Count > 0)
        {
            CliConsole.WriteError(stderr, Describe(parse.Errors[0]));
            return 2;
        }

        OrtSessionOptions.LogSeverity = parse.GetValue(verbose) ? OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING : OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        OrtEnv.Instance().EnvLogLevel = OrtSessionOptions.LogSeverity;
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsBadInput(e))
        {
            CliConsole.WriteError(stderr, e.Message);
            Debug(e, stderr);
            return 2;
        }
        catch (Exception e)
        {
            CliConsole.WriteError(stderr, "internal failure: " + e.Message);
            Debug(e, stderr);
            return 1;
        }
    }

    /// <summary>True when the first argument is not an option (such as <c>--help</c>) and names no command.</summary>
    private static bool NamesNoCommand(string[] args, RootCommand root) =>
        args.Length == 0
        || (!args[0].StartsWith('-') && !root.Subcommands.Any(c => c.Name == args[0] || c.Aliases.Contains(args[0])));

    private static bool IsBadInput(Exception e) => e is CliException or OnnxFormatException or FileNotFoundException or DirectoryNotFoundException
        or InvalidDataException or NotSupportedException or QuantizationAnnotationException or ArgumentException or UnauthorizedAccessException
        or OnnxGraphException or CalibrationException;

    /// <summary>A parse error's message, prefixed with the option it is about when the message does not name it.</summary>
    private static string Describe(ParseError error)
    {
        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        string message = error.Message;
        return option is null || message.Contains(option.Name, StringComparison.Ordinal) ? message : $"{option.Name}: {message}";
    }

    private static void Debug(Exception e, TextWriter stderr)
    {
        if (Environment.GetEnvironmentVariable("MLNET_QUANTIZE_DEBUG") == "1")
            stderr.WriteLine(e.ToString());
    }
}
