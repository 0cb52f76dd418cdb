using MLNet.Quantization.Cli.Commands;
using MLNet.Quantization.Cli.Tests.Hostile;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// The split between the two tools: mlnet-quantize carries no TorchSharp and answers <c>--mode qat</c> with the tool to
/// install; mlnet-quantize-qat is the same tool with the qat mode.
/// </summary>
[TestClass]
public sealed class QatToolTests
{
    private static readonly string[] QatArgs =
    [
        "quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N") + ".onnx"),
        "--mode", "qat", "--calibration-data", "calib.npy", "--train-data", "train.npy", "--train-labels", "labels.npy", "--epochs", "1", "--learning-rate", "1e-4",
    ];

    [TestMethod]
    public void MlnetQuantizeDoesNotReferenceTorchSharp()
    {
        var references = typeof(CliApp).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();
        Assert.IsTrue(references.Contains("MLNet.Quantization"), string.Join(", ", references));
        Assert.IsFalse(references.Any(r => r.Contains("TorchSharp", StringComparison.OrdinalIgnoreCase)), string.Join(", ", references));
    }

    [TestMethod]
    public void MlnetQuantizeAnswersQatModeWithTheToolToInstall()
    {
        var (code, _, stderr) = CliTestFiles.Run(QatArgs);
        CliAssert.IsBadInput(code, stderr, "dotnet tool install --global mlnet-quantize-qat", "in process");
        Assert.AreEqual("error: " + QuantizeCommand.QatNeedsQatTool, stderr.Trim());
        Assert.IsFalse(File.Exists(QatArgs[4]));

        // The real process too: it exits 2 with the one line, without looking for libtorch.
        var run = ChildCli.Run(QatArgs);
        HostileAssert.IsBadInput(run, "mlnet-quantize-qat", 400, "child mlnet-quantize --mode qat");
        Assert.IsFalse(File.Exists(QatArgs[4]));
    }

    [TestMethod]
    public void HelpSaysWhichToolHasTheQatMode()
    {
        var (code, stdout, _) = CliTestFiles.Run("quantize", "--help");
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "static or dynamic (qat: the mlnet-quantize-qat tool)");
        var (qatCode, qatStdout, _) = CliTestFiles.RunQat("quantize", "--help");
        Assert.AreEqual(0, qatCode);
        StringAssert.Contains(qatStdout, "static, dynamic or qat");
        StringAssert.Contains(CliTestFiles.RunQat("--help").Out, "mlnet-quantize-qat");
    }

    [TestMethod]
    public void MlnetQuantizeQatNamesTheMissingTrainingOptions()
    {
        string[] args = ["quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", QatArgs[4], "--mode", "qat", "--calibration-data", "calib.npy"];
        var (code, _, stderr) = CliTestFiles.RunQat(args);
        CliAssert.IsBadInput(code, stderr, "--mode qat needs --train-data, --train-labels, --epochs, --learning-rate", "in process");

        var run = ChildCli.RunTool(ChildCli.QatToolPath, TimeSpan.FromMinutes(1), null, args);
        HostileAssert.IsBadInput(run, "--train-data", 400, "child mlnet-quantize-qat");
    }

    [TestMethod]
    public void MlnetQuantizeQatRunsTheOtherCommandsToo()
    {
        var (code, stdout, stderr) = CliTestFiles.RunQat("inspect", "--model", CliTestFiles.Model("fmnist_cnn"));
        Assert.AreEqual(0, code, stderr);
        Assert.AreEqual(CliTestFiles.Run("inspect", "--model", CliTestFiles.Model("fmnist_cnn")).Out, stdout);
    }
}
