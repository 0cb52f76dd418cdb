using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MLNet.Quantization.Cli.Tests.Hostile;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// What the tool does when it is used carelessly: no command, an unknown command, ONNX Runtime's own log, and a
/// dynamic-mode request on a model dynamic mode cannot touch.
/// </summary>
[TestClass]
public sealed class CliMannersTests
{
    private static readonly string[] Commands = ["quantize", "inspect", "eval", "bench", "compare", "convert-opset", "calibrate", "merge", "convert"];

    [TestMethod]
    public void NoArgumentsPrintTheHelpAndExit2()
    {
        var (code, stdout, stderr) = CliTestFiles.Run();
        CliAssert.IsBadInput(code, stderr, "give a command", "no arguments");
        StringAssert.Contains(stdout, "Usage:");
        foreach (var command in Commands)
            StringAssert.Contains(stdout, command);
    }

    [TestMethod]
    public void AnUnknownCommandPrintsTheHelpAndNamesIt()
    {
        var (code, stdout, stderr) = CliTestFiles.Run("quantise", "--model", "m.onnx");
        CliAssert.IsBadInput(code, stderr, "unknown command 'quantise'", "unknown command");
        StringAssert.Contains(stdout, "Usage:");
        StringAssert.Contains(stderr, "quantize");
    }

    [TestMethod]
    public void HelpStillExitsZero()
    {
        var (code, stdout, _) = CliTestFiles.Run("--help");
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "convert-opset");
    }

    [TestMethod]
    public void OrtLogsOnlyErrorsUnlessVerbose()
    {
        var model = CliTestFiles.Model("fmnist_cnn");
        Assert.AreEqual(0, CliTestFiles.Run("inspect", "--verbose", "--model", model).Code);
        Assert.AreEqual(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, OrtEnv.Instance().EnvLogLevel);

        Assert.AreEqual(0, CliTestFiles.Run("inspect", "--model", model).Code);
        Assert.AreEqual(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, OrtEnv.Instance().EnvLogLevel);
    }

    [TestMethod]
    public void ASuccessfulRunWritesNothingToStderr()
    {
        var run = ChildCli.Run("inspect", "--model", CliTestFiles.Model("fmnist_mobile"));
        Assert.AreEqual(0, run.Code, run.ToString());
        Assert.AreEqual("", run.Err, "ONNX Runtime's log leaked to stderr");
    }

    [TestMethod]
    public void DynamicModeOnAnAllConvModelSaysItQuantizedNothing()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetq-manners-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "s.json");
            var model = Path.Combine(AppContext.BaseDirectory, "TestData", "shapes", "conv_only.onnx");
            var (code, stdout, stderr) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", model, "--output", Path.Combine(dir, "q.onnx"), "--json", json);
            Assert.AreEqual(0, code, stderr);
            StringAssert.Contains(stdout, "mode: dynamic");
            StringAssert.Contains(stdout, "warning: dynamic mode found nothing to quantize");
            StringAssert.Contains(stdout, "2 Conv node(s) have no dynamic int8 kernel");
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.AreEqual("dynamic", doc.RootElement.GetProperty("mode").GetString());
            var warnings = doc.RootElement.GetProperty("warnings");
            Assert.AreEqual(1, warnings.GetArrayLength());
            StringAssert.Contains(warnings[0].GetString(), "static mode");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void ADynamicRunThatQuantizesHasNoWarnings()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetq-manners-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "s.json");
            var (code, _, stderr) = CliTestFiles.Run("quantize", "--mode", "dynamic", "--model", CliTestFiles.Model("fmnist_rowtf"), "--output", Path.Combine(dir, "q.onnx"), "--json", json);
            Assert.AreEqual(0, code, stderr);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.AreEqual(0, doc.RootElement.GetProperty("warnings").GetArrayLength());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void CalibrationDataLackingAModelInputIsRefusedNamingIt()
    {
        // a weight turned into a second graph input (the fuzz suite's weight-to-input), fed a file with one array
        var model = Quantization.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(CliTestFiles.Model("fmnist_cnn")));
        var weight = model.Graph.Initializer.First(t => t.Dims.Count == 1);
        model.Graph.Initializer.Remove(weight);
        var type = new Quantization.Onnx.Proto.TypeProto { TensorType = new() { ElemType = weight.DataType, Shape = new() } };
        foreach (long d in weight.Dims)
            type.TensorType.Shape.Dim.Add(new Quantization.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = d });
        model.Graph.Input.Add(new Quantization.Onnx.Proto.ValueInfoProto { Name = weight.Name, Type = type });
        string dir = Path.Combine(Path.GetTempPath(), "mlnetq-manners-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "two_inputs.onnx"), data = Path.Combine(dir, "x.npy"), output = Path.Combine(dir, "q.onnx");
            File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
            QuantizeCommandTests.WriteNpy(data, new float[8 * 784], [8, 1, 28, 28]);
            var (code, _, stderr) = CliTestFiles.Run("quantize", "--model", path, "--output", output, "--calibration-data", data);
            CliAssert.IsBadInput(code, stderr, $"data file '{data}' has no array for model input '{weight.Name}'", "a model input the data file lacks");
            Assert.IsFalse(File.Exists(output), "nothing is written");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
