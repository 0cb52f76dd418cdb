namespace MLNet.Quantization.Tests.Flow;

/// <summary><see cref="OptionCombination"/>: the rule each combination breaks, the first one first.</summary>
[TestClass]
public sealed class OptionCombinationTests
{
    [TestMethod]
    public void EachCombinationNamesTheRuleItBreaks()
    {
        Assert.AreEqual(OptionConflict.None, new OptionCombination(Static: true).Check());
        Assert.AreEqual(OptionConflict.None, new OptionCombination(Static: true, SmoothQuantAlpha: 1).Check());
        Assert.AreEqual(OptionConflict.None, new OptionCombination(Static: false, SpeedAware: true).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantAlphaOutOfRange, new OptionCombination(Static: false, SmoothQuantAlpha: 0).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantAlphaOutOfRange, new OptionCombination(Static: true, SmoothQuantAlpha: double.NaN).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantAlphaOutOfRange, new OptionCombination(Static: true, SmoothQuantAlpha: 1.5).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantNeedsStatic, new OptionCombination(Static: false, SmoothQuantAlpha: 0.5, SpeedAware: true).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantWithSearch, new OptionCombination(Static: true, SmoothQuantAlpha: 0.5, AccuracyAware: true).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantWithSearch, new OptionCombination(Static: true, SmoothQuantAlpha: 0.5, OutputSqnrRepair: true).Check());
        Assert.AreEqual(OptionConflict.SmoothQuantWithSearch, new OptionCombination(Static: true, SmoothQuantAlpha: 0.5, SpeedAware: true).Check());
        Assert.AreEqual(OptionConflict.SpeedAwareWithSearch, new OptionCombination(Static: true, SpeedAware: true, AccuracyAware: true).Check());
        Assert.AreEqual(OptionConflict.SpeedAwareWithSearch, new OptionCombination(Static: false, SpeedAware: true, OutputSqnrRepair: true).Check());
    }
}
