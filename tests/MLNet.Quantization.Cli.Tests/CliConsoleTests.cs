using Spectre.Console;

namespace MLNet.Quantization.Cli.Tests;

[TestClass]
public sealed class CliConsoleTests
{
    [TestMethod]
    [DataRow("m\u001b[31m.onnx", "m\\x1b[31m.onnx")]
    [DataRow("a\u2028b\u2029c", "a\\u2028b\\u2029c")]
    [DataRow("line\nnext\r\tx\u0007\u0085\u009b", "line\\nnext\\r\\tx\\x07\\x85\\x9b")]
    [DataRow("plain 'name' ü 日本", "plain 'name' ü 日本")]
    public void ErrorLinesEscapeControlAndSeparatorCharacters(string message, string expected)
    {
        var stderr = new StringWriter();
        CliConsole.WriteError(stderr, message);
        Assert.AreEqual("error: " + expected + Environment.NewLine, stderr.ToString());
    }

    [TestMethod]
    public void RedirectedOutputIsPlainText()
    {
        var writer = new StringWriter();
        var ui = CliConsole.For(writer);
        Assert.IsFalse(ui.IsInteractive);
        int reported = ui.WithProgress("work", 3, progress =>
        {
            for (int i = 1; i <= 3; i++)
                progress.Report(i);
            return 42;
        });
        ui.WriteTable("title", ["a", "b"], [["1", "2"], ["3", "4"]]);
        Assert.AreEqual(42, reported);
        Assert.AreEqual("title\n  1  2\n  3  4\n", writer.ToString().Replace("\r\n", "\n"));
    }

    [TestMethod]
    public void TerminalGetsAColoredTableAndProgress()
    {
        var terminalText = new StringWriter();
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(terminalText),
        });
        var stdout = new StringWriter();
        var ui = new CliConsole(stdout, terminal, plainToStdout: false);
        int result = ui.WithProgress("calibrating", 10, progress =>
        {
            progress.Report(5);
            progress.Report(10);
            return 7;
        });
        ui.WriteTable("static quantization", ["op type", "nodes"], [["Conv", "3"]]);
        Assert.AreEqual(7, result);
        Assert.AreEqual("", stdout.ToString(), "a terminal stdout gets the table on stderr only");
        string drawn = terminalText.ToString();
        StringAssert.Contains(drawn, "\u001b[", "ANSI color codes");
        StringAssert.Contains(drawn, "Conv");
        StringAssert.Contains(drawn, "static quantization");
    }
}
