using MLNet.Quantization.Runtime;

namespace MLNet.Quantization.Tests.TestSupport;

/// <summary>
/// The test run starts two test hosts at a time on a 2-core machine; sessions that leave the thread count to ORT get
/// one intra-op thread, so that the hosts' spinning ORT workers do not fight over the cores. Tests that give a
/// thread count keep it.
/// </summary>
[TestClass]
public static class TestAssemblySetup
{
    [AssemblyInitialize]
    public static void Initialize(TestContext context) => OrtSessionOptions.DefaultIntraOpThreads = 1;
}
