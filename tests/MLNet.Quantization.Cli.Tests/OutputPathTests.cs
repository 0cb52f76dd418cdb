namespace MLNet.Quantization.Cli.Tests;

/// <summary>
/// Output paths (--output, --json, --plot) are checked before any work starts: an existing folder, symbolic link,
/// device or missing parent folder is bad input (exit 2, one error line), and nothing is written anywhere.
/// </summary>
[TestClass]
public sealed class OutputPathTests
{
    private static readonly byte[] Canary = "CANARY-BYTES"u8.ToArray();

    [TestMethod]
    public void BadOutputPaths_AreRefusedBeforeAnyWork()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetq-out-" + Guid.NewGuid().ToString("N"));
        string outside = dir + "-outside";
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(outside);
        try
        {
            string model = CliTestFiles.Model("fmnist_cnn");
            string folder = Path.Combine(dir, "folder");
            Directory.CreateDirectory(folder);
            string canary = Path.Combine(outside, "canary.onnx");
            File.WriteAllBytes(canary, Canary);
            string link = Path.Combine(dir, "link.onnx");
            File.CreateSymbolicLink(link, canary);
            string good = Path.Combine(dir, "good.onnx");
            string missingParent = Path.Combine(dir, "no", "such", "r.json");

            var cases = new (string[] Args, string Expect)[]
            {
                (["quantize", "--model", model, "--output", folder, "--mode", "dynamic"], "is a folder"),
                (["quantize", "--model", model, "--output", link, "--mode", "dynamic"], "symbolic link"),
                (["quantize", "--model", model, "--output", "/dev/null", "--mode", "dynamic"], "device"),
                (["quantize", "--model", model, "--output", good, "--mode", "dynamic", "--json", folder], "--json"),
                (["quantize", "--model", model, "--output", good, "--mode", "dynamic", "--json", missingParent], "does not exist"),
                (["inspect", "--model", model, "--json", folder], "--json"),
                (["bench", "--model", model, "--json", link], "--json"),
                (["compare", "--float", model, "--quantized", model, "--data", "x.npy", "--plot", folder], "--plot"),
                (["compare", "--float", model, "--quantized", model, "--data", "x.npy", "--json", "/dev/null"], "--json"),
            };
            foreach (var (args, expect) in cases)
            {
                var (code, _, stderr) = CliTestFiles.Run(args);
                string label = string.Join(' ', args);
                CliAssert.IsBadInput(code, stderr, expect, label);
                Assert.IsFalse(File.Exists(good), label + ": the model was written before the check");
                CollectionAssert.AreEqual(Canary, File.ReadAllBytes(canary), label + ": the link's target was overwritten");
                Assert.IsEmpty(Directory.GetFiles(dir, "*.tmp*"), label + ": a temporary file was left");
                Assert.IsEmpty(Directory.GetFileSystemEntries(folder), label);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
            Directory.Delete(outside, true);
        }
    }
}
