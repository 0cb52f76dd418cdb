using MLNet.Quantization.Numerics;
using MLNet.Quantization.Observers;
using MLNet.Quantization.Quantizers;

namespace MLNet.Quantization.Tests.Quantizers;

/// <summary>
/// <c>get_default_x86_inductor_quantization_config</c>: activations uint8 [0, 255] per-tensor affine, weights int8
/// [-128, 127] per-channel symmetric on axis 0, both with eps = 2^-12 = 1/4096 = 0.000244140625.
/// </summary>
[TestClass]
public sealed class X86DefaultConfigTests
{
    private const float Eps = 0.000244140625f; // 2^-12, PT2E's, on activations
    private const float WeightEps = 1f / 1099511627776f; // 2^-40 on weights: PT2E's 2^-12 collapses tiny BN-folded weights

    private static Observer MakeObserver(QuantizationSpec spec) => spec.ObserverFactory!(spec.ToObserverOptions());

    private static void AssertActivation(QuantizationSpec? spec, bool isDynamic, int quantMax = 255)
    {
        Assert.IsNotNull(spec);
        Assert.AreEqual(QuantDataType.UInt8, spec.DataType);
        Assert.AreEqual(QScheme.PerTensorAffine, spec.QScheme);
        Assert.AreEqual(0, spec.QuantMin);
        Assert.AreEqual(quantMax, spec.QuantMax);
        Assert.IsNull(spec.ChannelAxis);
        Assert.AreEqual(isDynamic, spec.IsDynamic);
        Assert.AreEqual(Eps, spec.Eps);
        Assert.IsFalse(spec.ReduceRange);
    }

    private static void AssertWeight(QuantizationSpec? spec)
    {
        Assert.IsNotNull(spec);
        Assert.AreEqual(QuantDataType.Int8, spec.DataType);
        Assert.AreEqual(QScheme.PerChannelSymmetric, spec.QScheme);
        Assert.AreEqual(-128, spec.QuantMin);
        Assert.AreEqual(127, spec.QuantMax);
        Assert.AreEqual(0, spec.ChannelAxis);
        Assert.IsFalse(spec.IsDynamic);
        Assert.AreEqual(WeightEps, spec.Eps);
        Assert.AreEqual(MathF.Pow(2, -40), spec.Eps);
    }

    [TestMethod]
    public void StaticPtqUsesHistogramActivationsAndPerChannelMinMaxWeights()
    {
        var config = X86Quantizer.GetDefaultConfig();
        AssertActivation(config.InputActivation, isDynamic: false);
        Assert.AreEqual(config.InputActivation, config.OutputActivation);
        AssertWeight(config.Weight);
        Assert.IsFalse(config.IsQat);
        Assert.IsFalse(config.IsDynamic);
        Assert.IsInstanceOfType<HistogramObserver>(MakeObserver(config.InputActivation!));
        Assert.IsInstanceOfType<PerChannelMinMaxObserver>(MakeObserver(config.Weight!));
        var observer = MakeObserver(config.InputActivation!);
        Assert.AreEqual(Eps, observer.Options.Eps);
        Assert.AreEqual(255, observer.Options.QuantMax);

        // Our deliberate divergence from PT2E: an int32 bias derived from (input, weight), zero point 0.
        var bias = (DerivedQuantizationSpec)config.Bias!;
        Assert.IsTrue(bias.IsTemplate);
        Assert.AreEqual(QuantDataType.Int32, bias.DataType);
        Assert.AreEqual(DerivedQuantizationSpec.BiasTemplate, bias);
    }

    [TestMethod]
    public void DynamicUsesAPlaceholderObserverAndAFloatBias()
    {
        var config = X86Quantizer.GetDefaultConfig(isDynamic: true);
        AssertActivation(config.InputActivation, isDynamic: true);
        AssertWeight(config.Weight);
        Assert.IsTrue(config.IsDynamic);
        Assert.IsNull(config.Bias);
        Assert.IsInstanceOfType<PlaceholderObserver>(MakeObserver(config.InputActivation!));
        Assert.IsInstanceOfType<PerChannelMinMaxObserver>(MakeObserver(config.Weight!));
    }

    [TestMethod]
    public void QatUsesMovingAverageObservers()
    {
        // FusedMovingAvgObsFakeQuantize observes with MovingAverageMinMaxObserver (activations) and
        // MovingAveragePerChannelMinMaxObserver (weights).
        var config = X86Quantizer.GetDefaultConfig(isQat: true);
        Assert.IsTrue(config.IsQat);
        AssertActivation(config.InputActivation, isDynamic: false);
        AssertWeight(config.Weight);
        Assert.IsInstanceOfType<MovingAverageMinMaxObserver>(MakeObserver(config.InputActivation!));
        Assert.IsInstanceOfType<MovingAveragePerChannelMinMaxObserver>(MakeObserver(config.Weight!));
    }

    [TestMethod]
    public void DynamicQatUsesAMovingAverageWithAveragingConstantOne()
    {
        var config = X86Quantizer.GetDefaultConfig(isQat: true, isDynamic: true);
        Assert.IsTrue(config.IsQat);
        AssertActivation(config.InputActivation, isDynamic: true);
        var observer = (MovingAverageMinMaxObserver)MakeObserver(config.InputActivation!);
        Assert.AreEqual(1f, observer.AveragingConstant);
    }

    [TestMethod]
    public void ReduceRangeSetsQuantMaxTo127()
    {
        // PyTorch passes quant_max = 127 rather than reduce_range = True.
        var config = X86Quantizer.GetDefaultConfig(reduceRange: true);
        AssertActivation(config.InputActivation, isDynamic: false, quantMax: 127);
        AssertWeight(config.Weight);
    }

    [TestMethod]
    public void ActivationObserverCanBeReplaced()
    {
        Func<ObserverOptions, Observer> minMax = o => new MinMaxObserver(o);
        var config = X86Quantizer.GetDefaultConfig(activationObserver: minMax);
        Assert.AreSame(minMax, config.InputActivation!.ObserverFactory);
        Assert.IsInstanceOfType<MinMaxObserver>(MakeObserver(config.InputActivation));
        Assert.IsInstanceOfType<PerChannelMinMaxObserver>(MakeObserver(config.Weight!));
    }

    [TestMethod]
    public void DefaultConfigsCompareEqualAcrossCalls()
    {
        // Equal specs on one tensor share one observer, so repeated calls must give equal configs.
        Assert.AreEqual(X86Quantizer.GetDefaultConfig(), X86Quantizer.GetDefaultConfig());
        Assert.AreEqual(X86Quantizer.GetDefaultConfig(isDynamic: true), X86Quantizer.GetDefaultConfig(isDynamic: true));
        Assert.AreNotEqual(X86Quantizer.GetDefaultConfig(), X86Quantizer.GetDefaultConfig(isQat: true));
    }
}
