using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SyncFunctions.Benchmarks;

/// <param name="Breakdown">Counts by request kind behind a storage figure, in the JSON only (too long for the table).</param>
internal sealed record Row(string Section, string Metric, double Value, string Unit, string Goal, string Note, IReadOnlyDictionary<string, double>? Breakdown = null);

/// <summary>Every figure of the run: a table on the console and JSON under artifacts/.</summary>
internal sealed class Report
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly List<Row> _rows = [];
    private (string Command, IReadOnlyDictionary<string, string> Machine)? _live;

    public IReadOnlyList<Row> Rows => _rows;

    public void Add(string section, string metric, double value, string unit, string goal, string note, IReadOnlyDictionary<string, double>? breakdown = null)
    {
        var row = new Row(section, metric, value, unit, goal, note, breakdown);
        Console.WriteLine($"  [{section}] {metric}: {Format(value)} {unit}{(goal.Length > 0 ? $" (goal {goal})" : "")}{(note.Length > 0 ? $" - {note}" : "")}");
        lock (_rows)
        {
            _rows.Add(row);
            // Rewritten with every row, so a run that is killed or crashes still leaves what it measured.
            if (_live is { } live)
            {
                WriteLatest(live.Command, live.Machine);
            }
        }
    }

    /// <summary>From now on, every row rewrites artifacts/bench/latest-{command}.md and .json.</summary>
    public void WriteAsMeasured(string command, IReadOnlyDictionary<string, string> machine)
    {
        lock (_rows)
        {
            _live = (command, machine);
        }
    }

    private void WriteLatest(string command, IReadOnlyDictionary<string, string> machine)
    {
        var dir = Path.Combine(Repo.Root, "artifacts", "bench");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, $"latest-{command}.md"), Table());
        File.WriteAllText(Path.Combine(dir, $"latest-{command}.json"), JsonSerializer.Serialize(new { command, machine, at = DateTimeOffset.UtcNow, rows = _rows }, JsonOptions));
    }

    public static string Format(double v) => double.IsNaN(v) ? "n/a" : v.ToString(Math.Abs(v) >= 100 || v == Math.Floor(v) ? "N0" : "0.##", CultureInfo.InvariantCulture);

    public string Table()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| section | metric | value | unit | goal | note |");
        sb.AppendLine("| --- | --- | ---: | --- | --- | --- |");
        List<Row> rows;
        lock (_rows)
        {
            rows = [.. _rows];
        }

        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Section} | {r.Metric} | {Format(r.Value)} | {r.Unit} | {r.Goal} | {r.Note.Replace("|", "/", StringComparison.Ordinal)} |");
        }

        return sb.ToString();
    }

    public async Task<string> WriteAsync(string command, IReadOnlyDictionary<string, string> machine)
    {
        var dir = Path.Combine(Repo.Root, "artifacts", "bench");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{command}.json");
        var json = JsonSerializer.Serialize(new { command, machine, at = DateTimeOffset.UtcNow, rows = _rows }, JsonOptions);
        await File.WriteAllTextAsync(path, json);
        await File.WriteAllTextAsync(Path.Combine(dir, $"latest-{command}.md"), Table());
        return path;
    }
}
