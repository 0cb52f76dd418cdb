using MLNet.Quantization.Runtime;
using MLNet.Quantization.TorchSharp.Native;

namespace MLNet.Quantization.TorchSharp.Tests;

/// <summary>
/// The test run starts two test hosts at a time on a 2-core machine. libtorch's OpenMP workers and ONNX Runtime's
/// spinning intra-op threads slow down sharply when another process holds the other core, so this host trains and
/// scores on one thread each (sessions and tests that set a thread count themselves keep it).
/// </summary>
[TestClass]
public static class TestAssemblySetup
{
    [AssemblyInitialize]
    public static void Initialize(TestContext context)
    {
        OrtSessionOptions.DefaultIntraOpThreads = 1;
        TorchSharpRuntime.EnsureLoaded();
        global::TorchSharp.torch.set_num_threads(1);
        global::TorchSharp.torch.set_num_interop_threads(1);
    }
}
