using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Cli.Qat;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>Paths and the in-process runner the CLI tests share.</summary>
internal static class CliTestFiles
{
    /// <summary>Runs mlnet-quantize in process; returns its exit code and what it wrote to stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(null, args);

    /// <summary>Runs mlnet-quantize-qat (mlnet-quantize with <c>--mode qat</c>) in process.</summary>
    public static (int Code, string Out, string Err) RunQat(params string[] args) => Run(new QatQuantize(), args);

    private static (int Code, string Out, string Err) Run(IQatMode? qatMode, string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr, qatMode);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A bundled model, by name (<c>fmnist_cnn</c>, ...).</summary>
    public static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");
}
