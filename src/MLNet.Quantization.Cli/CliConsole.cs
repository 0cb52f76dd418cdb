using System.Globalization;
using System.Text;
using Spectre.Console;

namespace MLNet.Quantization.Cli;

/// <summary>
/// Where a command's human-facing output goes. Results are always written as plain text to the command's output
/// writer, so scripts and redirected output see no escape codes. When the tool runs in a terminal (its writer is the
/// process's stdout and stderr is not redirected), long work also shows a progress bar on stderr, and summaries are
/// drawn as a colored table on stderr instead of the plain text, which is then left out of a terminal stdout.
/// </summary>
internal sealed class CliConsole
{
    private readonly IAnsiConsole? _terminal;
    private readonly bool _plainToStdout;

    internal CliConsole(TextWriter stdout, IAnsiConsole? terminal, bool plainToStdout)
    {
        Out = stdout;
        _terminal = terminal;
        _plainToStdout = plainToStdout;
    }

    /// <summary>The plain-text result writer.</summary>
    public TextWriter Out { get; }

    /// <summary>True when progress and colored tables are drawn on a terminal.</summary>
    public bool IsInteractive => _terminal is not null;

    /// <summary>
    /// The console for a command whose results go to <paramref name="stdout"/>. Interactive only for the real process
    /// streams, with stderr a terminal and <c>NO_COLOR</c>/<c>TERM=dumb</c> not set.
    /// </summary>
    public static CliConsole For(TextWriter stdout)
    {
        bool realStdout = ReferenceEquals(stdout, Console.Out);
        bool interactive = realStdout && !Console.IsErrorRedirected
            && Environment.GetEnvironmentVariable("NO_COLOR") is null
            && Environment.GetEnvironmentVariable("TERM") != "dumb";
        if (!interactive)
            return new CliConsole(stdout, null, plainToStdout: true);
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Out = new AnsiConsoleOutput(Console.Error),
        });
        return new CliConsole(stdout, terminal, plainToStdout: Console.IsOutputRedirected);
    }

    /// <summary>
    /// On a terminal, a reporter that shows each step of prepare, calibration and convert as it starts (dimmed, on
    /// stderr), so that a large model is never silent; null otherwise, keeping redirected output free of it.
    /// </summary>
    public IProgress<QuantizationProgress>? StageProgress =>
        _terminal is { } terminal ? new CallbackProgress<QuantizationProgress>(p => terminal.MarkupLine($"[grey]{Markup.Escape(p.ToString())}[/]")) : null;

    /// <summary>
    /// Writes the one <c>error:</c> line for <paramref name="message"/> to <paramref name="stderr"/>: the only place the
    /// tool writes one, so every error is one line, with control characters escaped (see <see cref="EscapeControl"/>).
    /// </summary>
    public static void WriteError(TextWriter stderr, string message) => stderr.WriteLine("error: " + EscapeControl(message.Trim()));

    /// <summary>
    /// <paramref name="text"/> with every control, line- or paragraph-separator character (Unicode Cc, Zl, Zp: ESC,
    /// newlines, U+2028, ...) written as an escape (<c>\n</c>, <c>\t</c>, <c>\x1b</c>, <c>\u2028</c>), so a file or
    /// tensor name can neither split an error line nor drive the terminal.
    /// </summary>
    public static string EscapeControl(string text)
    {
        if (!text.Any(IsControl))
            return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (!IsControl(c))
                sb.Append(c);
            else if (c == '\n')
                sb.Append("\\n");
            else if (c == '\r')
                sb.Append("\\r");
            else if (c == '\t')
                sb.Append("\\t");
            else if (c <= 0xFF)
                sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static bool IsControl(char c) =>
        char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>Runs <paramref name="work"/>, showing a progress bar of <paramref name="total"/> units when interactive.</summary>
    public T WithProgress<T>(string description, double total, Func<IProgress<double>, T> work)
    {
        if (_terminal is null)
            return work(new Progress(null));
        T result = default!;
        _terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                result = work(new Progress(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>
    /// Writes a result table: plain lines to <see cref="Out"/> (unless that is the terminal itself), and a colored table
    /// on the terminal when interactive.
    /// </summary>
    public void WriteTable(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var materialized = rows.ToList();
        if (_plainToStdout)
        {
            Out.WriteLine(title);
            foreach (var row in materialized)
                Out.WriteLine("  " + string.Join("  ", row));
        }

        if (_terminal is null)
            return;
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(title)}[/]");
        foreach (var header in headers)
            table.AddColumn(new TableColumn($"[cyan]{Markup.Escape(header)}[/]"));
        foreach (var row in materialized)
            table.AddRow(row.Select(cell => Markup.Escape(cell)).ToArray());
        _terminal.Write(table);
    }

    /// <summary>Writes a plain line to <see cref="Out"/>; on a terminal-only stdout, writes it highlighted on the terminal.</summary>
    public void WriteLine(string line)
    {
        if (_plainToStdout)
            Out.WriteLine(line);
        else
            _terminal!.MarkupLine($"[green]{Markup.Escape(line)}[/]");
    }

    private sealed class Progress(ProgressTask? task) : IProgress<double>
    {
        public void Report(double value)
        {
            if (task is not null)
                task.Value = Math.Min(value, task.MaxValue);
        }
    }
}
