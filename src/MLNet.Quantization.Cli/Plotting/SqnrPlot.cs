using MLNet.Quantization.Diagnostics;
using ScottPlot;

namespace MLNet.Quantization.Cli.Plotting;

/// <summary>
/// A PNG bar chart (ScottPlot, rendered by SkiaSharp, headless) of the per-layer activation SQNR, worst first, with the
/// model output's SQNR as a line. Infinite SQNR (exact) is drawn at the top of the axis and labelled "inf".
/// </summary>
internal static class SqnrPlot
{
    public const int Width = 1200;
    public const int Height = 700;

    public static void Save(SqnrReport report, string path, string title)
    {
        var layers = report.Activations;
        if (layers.Count == 0)
            throw new CliException("--plot: the comparison found no matched activation to plot");
        var finite = layers.Select(l => l.SqnrDb).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double top = Math.Max(finite.Max(), double.IsFinite(report.OutputSqnrDb) ? report.OutputSqnrDb : 0) + 5;
        double bottom = Math.Min(0, finite.Min() - 5);

        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < layers.Count; i++)
        {
            double db = layers[i].SqnrDb;
            double value = double.IsPositiveInfinity(db) ? top : double.IsNegativeInfinity(db) || double.IsNaN(db) ? bottom : db;
            bars.Add(new Bar { Position = i, Value = value, FillColor = Colors.SteelBlue, Label = SqnrReport.FormatDb(db) });
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 10;
        if (double.IsFinite(report.OutputSqnrDb))
        {
            var line = plot.Add.HorizontalLine(report.OutputSqnrDb);
            line.LegendText = $"model output {SqnrReport.FormatDb(report.OutputSqnrDb)} dB";
            line.Color = Colors.OrangeRed;
            plot.ShowLegend(Alignment.UpperRight);
        }

        var ticks = layers.Select((l, i) => new Tick(i, Shorten(l.Tensor))).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 190;
        plot.Axes.Left.MinimumSize = 130; // room for the first rotated tick label
        plot.Axes.SetLimits(-0.6, layers.Count - 0.4, bottom, top + 3);
        plot.Title(title);
        plot.YLabel("activation SQNR (dB), worst first");
        AtomicFile.Write(path, temp => plot.SavePng(temp, Width, Height));
    }

    private static string Shorten(string name) => name.Length <= 26 ? name : "…" + name[^25..];
}
