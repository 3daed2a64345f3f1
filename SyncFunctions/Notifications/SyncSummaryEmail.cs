using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using SyncFunctions.Progress;

namespace SyncFunctions.Notifications;

/// <summary>
/// The end-of-sync e-mail, from the two templates under <c>Notifications/Templates</c> (embedded).
/// Every value that came from a user or a source (tenant ids, connector names, item titles, error
/// messages) is HTML-encoded in the HTML part; the plain-text part carries them as they are.
/// </summary>
public sealed partial class SyncSummaryEmail(IOptions<NotificationOptions> options)
{
    /// <summary>Failed items listed per connector; the operation keeps up to <see cref="ConnectorProgress.MaxFailureSamples"/>.</summary>
    public const int FailuresShown = 5;

    private static readonly string HtmlTemplate = ReadTemplate("SyncSummary.html");
    private static readonly string TextTemplate = ReadTemplate("SyncSummary.txt");
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public EmailMessage Render(SyncOperationEntity operation, IReadOnlyList<string> recipients)
    {
        var connectors = operation.ReadConnectorProgress();
        var names = operation.ConnectorNames.Count > 0 ? string.Join(", ", operation.ConnectorNames) : "none";
        var (headline, word, color) = Describe(operation);
        var subject = $"Sync {word}: {names} (tenant {operation.TenantId})";
        var link = DashboardLink(operation);
        var values = new Dictionary<string, string>
        {
            ["subject"] = subject,
            ["headline"] = headline,
            ["tenant"] = operation.TenantId,
            ["sync_id"] = operation.SyncId,
            ["triggered_by"] = operation.TriggeredBy ?? "an unknown user",
            ["connectors"] = names,
            ["total"] = Number(operation.TotalFilesToProcess),
            ["processed"] = Number(operation.FilesProcessed),
            ["failed"] = Number(operation.FilesFailed),
            ["started_at"] = (operation.StartedAt ?? operation.CreatedAt).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
            ["duration"] = Duration(operation),
            ["dashboard_url"] = link,
        };

        var text = Fill(TextTemplate, values, encode: false, new Dictionary<string, string>
        {
            ["error_block"] = operation.ErrorMessage is null ? "" : $"Error:       {operation.ErrorMessage} ({operation.FailureReason})\n",
            ["connector_rows"] = string.Join("\n", connectors.Select(c =>
                $"  {c.Connector}: {c.Status}, {Number(c.TotalItems)} total, {Number(c.ProcessedItems)} processed, {Number(c.FailedItems)} failed{(c.ErrorMessage is null ? "" : $" ({c.ErrorMessage})")}")),
            ["failure_block"] = TextFailures(connectors),
        });
        var html = Fill(HtmlTemplate, values, encode: true, new Dictionary<string, string>
        {
            ["status_color"] = color,
            ["error_block"] = operation.ErrorMessage is null ? "" :
                $"<p style=\"margin: 0 0 16px; padding: 8px 12px; background: #ffebe9; border-left: 4px solid #cf222e;\"><strong>Error</strong> ({E(operation.FailureReason)}): {E(operation.ErrorMessage)}</p>",
            ["connector_rows"] = string.Concat(connectors.Select(c =>
                $"<tr><td style=\"padding: 4px 12px 4px 0;\">{E(c.Connector)}</td><td style=\"padding: 4px 12px 4px 0;\">{E(c.Status)}</td><td style=\"padding: 4px 12px 4px 0;\">{Number(c.TotalItems)}</td><td style=\"padding: 4px 12px 4px 0;\">{Number(c.ProcessedItems)}</td><td style=\"padding: 4px 12px 4px 0;\">{Number(c.FailedItems)}</td><td style=\"padding: 4px 12px 4px 0;\">{E(c.ErrorMessage)}</td></tr>\n")),
            ["failure_block"] = HtmlFailures(connectors),
        });

        return new EmailMessage(recipients, subject, text, html, $"{operation.SyncId}.{operation.TenantId}@syncfunctions");
    }

    /// <summary>The dashboard's view of this sync: SYNC_DASHBOARD_URL with the sync and tenant in the query.</summary>
    public string DashboardLink(SyncOperationEntity operation) =>
        new Uri(options.Value.DashboardUri, $"?tenant_id={Uri.EscapeDataString(operation.TenantId)}&sync_id={Uri.EscapeDataString(operation.SyncId)}").AbsoluteUri;

    private static (string Headline, string Word, string Color) Describe(SyncOperationEntity operation) => operation.Status switch
    {
        SyncStatus.Completed when operation.FilesFailed > 0 => ($"Sync succeeded, {Number(operation.FilesFailed)} items failed", "succeeded with failed items", "#9a6700"),
        SyncStatus.Completed => ("Sync succeeded", "succeeded", "#1a7f37"),
        SyncStatus.Cancelled => ("Sync cancelled", "cancelled", "#656d76"),
        _ when operation.FailureReason == FailureReason.TimedOut => ("Sync failed: timed out", "failed (timed out)", "#cf222e"),
        _ => ("Sync failed", "failed", "#cf222e"),
    };

    private static string TextFailures(IReadOnlyList<ConnectorProgress> connectors)
    {
        var builder = new StringBuilder();
        foreach (var c in connectors.Where(c => c.FailureSamples.Count > 0))
        {
            builder.Append(CultureInfo.InvariantCulture, $"\nFailed items of {c.Connector} (first {Math.Min(FailuresShown, c.FailureSamples.Count)} of {Number(c.FailedItems)}):\n");
            foreach (var f in c.FailureSamples.Take(FailuresShown))
            {
                builder.Append(CultureInfo.InvariantCulture, $"  - {f.Item}: {f.Reason}\n");
            }
        }

        return builder.ToString();
    }

    private static string HtmlFailures(IReadOnlyList<ConnectorProgress> connectors)
    {
        var builder = new StringBuilder();
        foreach (var c in connectors.Where(c => c.FailureSamples.Count > 0))
        {
            builder.Append(CultureInfo.InvariantCulture, $"<h2 style=\"font-size: 16px; margin: 16px 0 4px;\">Failed items of {E(c.Connector)} (first {Math.Min(FailuresShown, c.FailureSamples.Count)} of {Number(c.FailedItems)})</h2>\n<ul style=\"margin: 0 0 16px;\">\n");
            foreach (var f in c.FailureSamples.Take(FailuresShown))
            {
                builder.Append(CultureInfo.InvariantCulture, $"<li><strong>{E(f.Item)}</strong>: {E(f.Reason)}</li>\n");
            }

            builder.Append("</ul>\n");
        }

        return builder.ToString();
    }

    private static string Duration(SyncOperationEntity operation)
    {
        if (operation.CompletedAt is not { } end)
        {
            return "unknown";
        }

        var span = end - (operation.StartedAt ?? operation.CreatedAt);
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours} h {span.Minutes} min")
            : span.TotalMinutes >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes} min {span.Seconds} s")
                : string.Create(CultureInfo.InvariantCulture, $"{span.Seconds} s");
    }

    private static string Number(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string E(string? value) => value is null ? "" : Html.Encode(value);

    /// <summary>Placeholders are <c>{{name}}</c>; plain values are encoded for HTML here, blocks arrive already built.</summary>
    private static string Fill(string template, Dictionary<string, string> values, bool encode, Dictionary<string, string> blocks) =>
        Placeholder().Replace(template, m =>
        {
            var name = m.Groups[1].Value;
            if (blocks.TryGetValue(name, out var block))
            {
                return block;
            }

            return values.TryGetValue(name, out var value)
                ? (encode ? Html.Encode(value) : value)
                : throw new InvalidOperationException($"The e-mail template has an unknown placeholder {{{{{name}}}}}.");
        });

    private static string ReadTemplate(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"SyncFunctions.Notifications.Templates.{name}")
            ?? throw new InvalidOperationException($"The e-mail template {name} is not embedded in the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Placeholder();
}
