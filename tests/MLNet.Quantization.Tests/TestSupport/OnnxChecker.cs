using System.Diagnostics;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>Python onnx's <c>onnx.checker.check_model(m, full_check=True)</c> (onnx 1.12: opsets up to 17, IR up to 8).</summary>
internal static class OnnxChecker
{
    public static void AssertValid(string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(psi)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"onnx.checker: {error}");
    }

    public static void AssertValid(byte[] model)
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            File.WriteAllBytes(path, model);
            AssertValid(path);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
