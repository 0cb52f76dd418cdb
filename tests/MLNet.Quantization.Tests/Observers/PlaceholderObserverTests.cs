using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;

namespace MLNet.Quantization.Tests.Observers;

[TestClass]
public sealed class PlaceholderObserverTests
{
    [TestMethod]
    public void RecordsDtypeOnlyAndHasNoQParams()
    {
        var o = new PlaceholderObserver(new ObserverOptions(QuantDataType.UInt8));
        Assert.AreEqual(QuantDataType.UInt8, o.DataType);
        Assert.IsFalse(o.HasObservations);
        o.Observe([float.NaN, float.PositiveInfinity]);
        Assert.IsFalse(o.HasObservations);
        o.Observe([1f, 2f]);
        Assert.IsTrue(o.HasObservations);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => o.CalculateQParams());
        StringAssert.Contains(e.Message, "run time");
    }

    [TestMethod]
    public void MergesItsObservedFlag()
    {
        var a = new PlaceholderObserver(new ObserverOptions(QuantDataType.UInt8));
        var b = new PlaceholderObserver(new ObserverOptions(QuantDataType.UInt8));
        b.Observe([0.5f]);
        a.Merge(b);
        Assert.IsTrue(a.HasObservations);
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(new PlaceholderObserver(new ObserverOptions(QuantDataType.Int8))));
        Assert.ThrowsExactly<ArgumentException>(() => a.Merge(new MinMaxObserver(new ObserverOptions(QuantDataType.UInt8))));
        Assert.ThrowsExactly<ArgumentException>(() => a.Observe(new float[3], [2, 2]));
    }
}
