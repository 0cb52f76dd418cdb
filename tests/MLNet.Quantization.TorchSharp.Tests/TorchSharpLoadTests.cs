using System.Text;
using MLNet.Quantization.TorchSharp.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests;

[TestClass]
public sealed class TorchSharpLoadTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [TestMethod]
    public void TorchSharpLoadsAndComputes()
    {
        TorchSharpRuntime.EnsureLoaded();
        using var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var b = a.matmul(a);
        CollectionAssert.AreEqual(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }

    [TestMethod]
    public void TorchSharpTrainsALinearRegression()
    {
        TorchSharpRuntime.EnsureLoaded();
        manual_seed(1);
        using var x = randn(256, 3);
        using var w = tensor(new float[] { 2f, -1f, 0.5f }).reshape(3, 1);
        using var bias = tensor(0.25f);
        using var y = x.matmul(w) + bias;
        var model = nn.Linear(3, 1);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        float first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            optimizer.zero_grad();
            using var loss = nn.functional.mse_loss(model.forward(x), y);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }

        Assert.IsLessThan(1e-4f, last, $"loss went from {first} to {last}");
        Assert.IsLessThan(first / 100, last);
    }

    [TestMethod]
    public void BuildOutputCopyIsPatchedOnlyWhenTheSystemLacksTheVersion()
    {
        string library = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.IsTrue(File.Exists(library), library);
        bool systemHasVersion = Contains(File.ReadAllBytes(SystemLibStdCxx()), Version);
        ushort? flags = VersionNeedFlags(File.ReadAllBytes(library), Version);
        Assert.IsNotNull(flags, $"{library} should declare a need for {Version}");
        Assert.AreEqual(!systemHasVersion, (flags.Value & 0x2) != 0, $"VER_FLG_WEAK on {Version}: flags 0x{flags:x}, system has it: {systemHasVersion}");
    }

    private static string SystemLibStdCxx() =>
        new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" }.First(File.Exists);

    private static bool Contains(byte[] haystack, string text) =>
        haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(text + "\0")) >= 0;

    /// <summary>Reads vna_flags of the named version need from .gnu.version_r (independent of the MSBuild task's code).</summary>
    private static ushort? VersionNeedFlags(byte[] elf, string version)
    {
        var span = elf.AsSpan();
        long shoff = BitConverter.ToInt64(span[0x28..]);
        int shentsize = BitConverter.ToUInt16(span[0x3A..]);
        int shnum = BitConverter.ToUInt16(span[0x3C..]);
        for (int s = 0; s < shnum; s++)
        {
            var sh = span.Slice((int)(shoff + s * shentsize), shentsize);
            if (BitConverter.ToUInt32(sh[4..]) != 0x6ffffffe)
                continue;
            int offset = (int)BitConverter.ToInt64(sh[0x18..]);
            int link = (int)BitConverter.ToUInt32(sh[0x28..]);
            int strings = (int)BitConverter.ToInt64(span[(int)(shoff + link * shentsize + 0x18)..]);
            for (int vn = offset; ; )
            {
                int aux = vn + (int)BitConverter.ToUInt32(span[(vn + 8)..]);
                for (int a = 0; a < BitConverter.ToUInt16(span[(vn + 2)..]); a++)
                {
                    int name = strings + (int)BitConverter.ToUInt32(span[(aux + 8)..]);
                    int end = span[name..].IndexOf((byte)0);
                    if (Encoding.ASCII.GetString(span.Slice(name, end)) == version)
                        return BitConverter.ToUInt16(span[(aux + 4)..]);
                    aux += (int)BitConverter.ToUInt32(span[(aux + 12)..]);
                }

                uint next = BitConverter.ToUInt32(span[(vn + 12)..]);
                if (next == 0)
                    break;
                vn += (int)next;
            }
        }

        return null;
    }
}
