using MLNet.Quantization.Numerics;
using MLNet.Quantization.TorchSharp.Native;
using MLNet.Quantization.TorchSharp.Qat;
using static TorchSharp.torch;

namespace MLNet.Quantization.TorchSharp.Tests.Qat;

/// <summary>
/// TorchSharp 0.107's implicit conversions to <c>Scalar</c> (e.g. <c>x.masked_fill(mask, 0f)</c>) make a finalizable
/// native object that the GC may free while libtorch still reads it: under GC pressure such calls fail with
/// "Expected false to be true" from c10::Scalar (first seen in a full-data QAT run). Fake quantization therefore holds its
/// Scalars explicitly; this stress test runs it while another thread forces collections and finalizers.
/// </summary>
[TestClass]
public sealed class ScalarLifetimeStressTests
{
    [TestMethod]
    public void FakeQuantizeHoldsItsScalarsAliveUnderGcPressure()
    {
        TorchSharpRuntime.EnsureLoaded();
        var qparams = QParams.PerTensor(0.1f, 10, QuantDataType.UInt8);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        int failures = 0;
        Exception? first = null;
        try
        {
            for (int i = 0; i < 60000; i++)
            {
                using var scope = NewDisposeScope();
                try
                {
                    _ = FakeQuantize.Apply(randn(8, 8), qparams).sum().item<float>();
                }
                catch (System.Runtime.InteropServices.ExternalException e)
                {
                    failures++;
                    first ??= e;
                }
            }
        }
        finally
        {
            stop.Cancel();
            collector.Wait();
        }

        Assert.AreEqual(0, failures, first?.ToString());
    }
}
