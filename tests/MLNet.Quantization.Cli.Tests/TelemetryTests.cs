using System.Diagnostics;

namespace MLNet.Quantization.Cli.Tests;

/// <summary>ONNX Runtime's telemetry stays off: a real quantization run leaves nothing under $HOME.</summary>
[TestClass]
public sealed class TelemetryTests
{
    [TestMethod]
    public void Quantize_WritesNoOrtTelemetryFilesUnderHome()
    {
        string home = Path.Combine(Path.GetTempPath(), "mlnetq-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            string output = Path.Combine(home, "q.onnx");
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "mlnet-quantize.dll"), "quantize", "--model", CliTestFiles.Model("fmnist_cnn"), "--output", output, "--mode", "dynamic" })
                start.ArgumentList.Add(arg);
            start.Environment["HOME"] = home;
            start.Environment.Remove("ORT_DISABLE_TELEMETRY");
            using var child = Process.Start(start)!;
            var stderr = child.StandardError.ReadToEndAsync();
            _ = child.StandardOutput.ReadToEnd();
            Assert.IsTrue(child.WaitForExit(120_000), "the CLI did not finish");
            Assert.AreEqual(0, child.ExitCode, stderr.Result);
            Assert.IsTrue(File.Exists(output));
            Assert.IsFalse(Directory.Exists(Path.Combine(home, ".cache", "Microsoft", "DeveloperTools", ".onnxruntime")), "ORT wrote telemetry files");
            Assert.HasCount(1, Directory.GetFileSystemEntries(home), string.Join(", ", Directory.GetFileSystemEntries(home)));
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }
}
