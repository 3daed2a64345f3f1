using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace SyncFunctions.Connectors.Folder;

/// <summary>
/// A directory as a source (setting <c>path</c>, relative to <c>FOLDER_CONNECTOR_ROOT</c>). A file is
/// new or changed when its size or modified time differs from its stored state and its content hash
/// does too, so an unchanged folder costs one read of the states and no processing.
/// </summary>
public sealed class FolderConnector(IOptions<FolderConnectorOptions> options, ItemStateStore states, TimeProvider time) : IConnector
{
    public const string ConnectorName = "folder";
    private static readonly string[] Known = ["path"];
    private static readonly string EmptyHash = Convert.ToHexStringLower(SHA256.HashData([]));

    public string Name => ConnectorName;

    public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        settings.RejectUnknown(Known, [], errors);
        if (string.IsNullOrEmpty(options.Value.Root))
        {
            errors["connector"] = ["The folder connector is turned off on this server (FOLDER_CONNECTOR_ROOT is not set)."];
            return errors;
        }

        var path = settings.GetString("path");
        if (string.IsNullOrWhiteSpace(path))
        {
            errors["settings.path"] = ["'path' is required: a folder below the server's folder root."];
        }
        else if (path.Length > 1024 || path.Any(char.IsControl) || Resolve(path) is null)
        {
            errors["settings.path"] = ["'path' must be a relative path that stays inside the server's folder root."];
        }

        return errors;
    }

    public Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken)
    {
        var path = context.Settings.GetString("path") ?? "";
        var directory = Resolve(path) ?? throw new ConnectorException($"Folder '{path}' is outside the server's folder root.");
        if (!Directory.Exists(directory))
        {
            throw new ConnectorException($"Folder '{path}' does not exist.");
        }

        if (PassesThroughLink(directory))
        {
            // Resolve is lexical; a link on the way could lead anywhere, so it is refused like links inside.
            throw new ConnectorException($"Folder '{path}' is or passes through a link; links are not followed.");
        }

        IConnectorSession session = new FolderSession(context, directory, states, options.Value.MaxTextBytes, time);
        return Task.FromResult(session);
    }

    /// <summary>The full path for a tenant's relative path, or null when it would leave the root.</summary>
    private string? Resolve(string relative)
    {
        if (string.IsNullOrEmpty(options.Value.Root) || Path.IsPathRooted(relative))
        {
            return null;
        }

        var root = Path.GetFullPath(options.Value.Root);
        var full = Path.GetFullPath(Path.Combine(root, relative));
        var rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return full == root || full.StartsWith(rootWithSeparator, StringComparison.Ordinal) ? full : null;
    }

    /// <summary>True when the directory, or any directory between it and the root, is a link.</summary>
    private bool PassesThroughLink(string directory)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Value.Root!));
        for (var current = Path.TrimEndingDirectorySeparator(directory);
             current.Length > root.Length && current.StartsWith(root, StringComparison.Ordinal);
             current = Path.GetDirectoryName(current)!)
        {
            if (new DirectoryInfo(current).LinkTarget is not null)
            {
                return true;
            }
        }

        return false;
    }

    private sealed record FileWork(string RelativePath, string FullPath, long Size, DateTimeOffset ModifiedAt, string Hash);

    /// <summary>What the commit writes besides the processed files: the touched-but-unchanged ones and the keys of files gone.</summary>
    private sealed record FolderPending(IReadOnlyList<FileWork> Touched, IReadOnlyList<string> Removed);

    private sealed class FolderSession(ConnectorContext context, string directory, ItemStateStore store, int maxTextBytes, TimeProvider time) : IConnectorSession
    {
        public async Task<ChangeSet> DetectChangesAsync(CancellationToken cancellationToken)
        {
            var known = await store.LoadAsync(context.TenantId, ConnectorName, cancellationToken).ConfigureAwait(false);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var work = new List<WorkItem>();
            var touched = new List<FileWork>();
            var enumeration = new EnumerationOptions
            {
                RecurseSubdirectories = true,
                IgnoreInaccessible = true,
                // Links could point outside the root; they are not followed.
                AttributesToSkip = FileAttributes.ReparsePoint | FileAttributes.Hidden | FileAttributes.System,
            };
            foreach (var file in Directory.EnumerateFiles(directory, "*", enumeration).Order(StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
                var key = Key(relative);
                seen.Add(key);
                var info = new FileInfo(file);
                var modified = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero);
                if (known.TryGetValue(key, out var state) && state.Size == info.Length && state.ModifiedAt == modified)
                {
                    continue;
                }

                // A zero-length entry is never opened: an empty file needs no reading, and a named pipe,
                // socket or device (all report no length) would block the open until someone wrote to it.
                var hash = info.Length == 0 ? EmptyHash : await HashAsync(file, cancellationToken).ConfigureAwait(false);
                if (state is not null && state.ContentHash == hash)
                {
                    // Touched but not changed: remember the new time, process nothing.
                    touched.Add(new FileWork(relative, file, info.Length, modified, hash));
                    continue;
                }

                work.Add(WorkItem.Of(key, $"File: {relative}", new FileWork(relative, file, info.Length, modified, hash)));
            }

            var removed = known.Keys.Where(k => !seen.Contains(k)).ToList();
            return ChangeSet.With(work, [], new FolderPending(touched, removed));
        }

        public async Task<SyncDocument?> ProcessItemAsync(WorkItem item, CancellationToken cancellationToken)
        {
            var file = item.StateAs<FileWork>();
            string? text;
            try
            {
                text = file.Size == 0 ? "" : await ReadTextAsync(file.FullPath, maxTextBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new ItemFailedException($"Could not read '{file.RelativePath}': {e.Message}", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new ItemFailedException($"Could not read '{file.RelativePath}': access denied.", e);
            }

            return new SyncDocument(
                item.Key,
                file.RelativePath,
                text,
                new Dictionary<string, string>
                {
                    ["path"] = file.RelativePath,
                    ["size"] = file.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["modified_at"] = file.ModifiedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["sha256"] = file.Hash,
                });
        }

        public async Task CommitAsync(ChangeSet detected, IReadOnlyCollection<WorkItem> succeeded, CancellationToken cancellationToken)
        {
            var pending = detected.CheckpointAs<FolderPending>();
            var states = succeeded.Select(i => i.StateAs<FileWork>()).Concat(pending.Touched)
                .Select(f => NewState(Key(f.RelativePath), f.RelativePath, f.Size, f.ModifiedAt, f.Hash));
            await store.SaveAsync(context.TenantId, ConnectorName, states, cancellationToken).ConfigureAwait(false);
            await store.DeleteAsync(context.TenantId, ConnectorName, pending.Removed, cancellationToken).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private ItemStateEntity NewState(string key, string relative, long size, DateTimeOffset modified, string hash) => new()
        {
            RowKey = key,
            Name = relative,
            Size = size,
            ModifiedAt = modified,
            ContentHash = hash,
            SyncId = context.SyncId,
            Timestamp = time.GetUtcNow(),
        };

        private static string Key(string relative) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(relative)));

        private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
        {
            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            }
        }

        /// <summary>The file as UTF-8 text, cut at the limit; null for binary files (a NUL byte in the first 8 KB).</summary>
        private static async Task<string?> ReadTextAsync(string path, int maxBytes, CancellationToken cancellationToken)
        {
            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[(int)Math.Min(maxBytes, Math.Max(stream.Length, 0))];
                var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                return buffer.AsSpan(0, Math.Min(read, 8192)).Contains((byte)0) ? null : Encoding.UTF8.GetString(buffer, 0, read);
            }
        }
    }
}

public static class FolderConnectorExtensions
{
    public static IServiceCollection AddFolderConnector(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FolderConnectorOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FolderConnectorOptions>, FolderConnectorOptionsValidator>();
        services.AddSingleton<ItemStateStore>();
        services.AddSingleton<IConnector, FolderConnector>();
        return services;
    }
}
