namespace MLNet.Quantization.Cli.Tests;

/// <summary>Paths and the in-process runner the CLI tests share.</summary>
internal static class CliTestFiles
{
    /// <summary>Runs the tool in process; returns its exit code and what it wrote to stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A bundled model, by name (<c>fmnist_cnn</c>, ...).</summary>
    public static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "models", name + ".onnx");
}
