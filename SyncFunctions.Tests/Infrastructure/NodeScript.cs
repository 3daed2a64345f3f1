using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace SyncFunctions.Tests.Infrastructure;

/// <summary>
/// A Node.js script a test drives: <c>node</c> from the PATH runs it from the repository (so it imports the
/// npm packages in the root's node_modules), it reports JSON lines on stdout and takes the test's lines on
/// stdin. Everything is bounded: reads wait at most until the bound, which also kills the process, and
/// disposing kills it (and its children) if it is still running, so a failing test leaves nothing behind.
/// </summary>
internal sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly StringBuilder _errors = new();
    private readonly CancellationTokenSource _bound;
    private readonly Task _reading;
    private readonly string _name;

    private NodeScript(Process process, string name, TimeSpan bound)
    {
        _process = process;
        _name = name;
        _bound = new CancellationTokenSource(bound);
        _bound.Token.Register(Kill);
        _reading = Task.WhenAll(ReadLinesAsync(), ReadErrorsAsync());
    }

    /// <summary>What the script wrote to stderr so far (the client libraries' warnings, Node's own errors).</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <param name="script">The script's path below the repository root.</param>
    /// <param name="environment">Its settings, as environment variables (tokens stay out of the command line).</param>
    /// <param name="bound">How long it may run at most.</param>
    public static NodeScript Start(string script, IReadOnlyDictionary<string, string> environment, TimeSpan bound)
    {
        var root = RepoRoot.Find();
        var path = Path.Combine(root, script);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The client script {path} is missing.");
        }

        var info = new ProcessStartInfo("node", [path])
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                "Node.js (node) is not on the PATH: the client tests run the npm eventsource and @microsoft/signalr clients with it. Install Node.js 20+ and run ./scripts/test.sh (it runs npm ci).", e);
        }

        ChildProcesses.Track(process);
        return new NodeScript(process, Path.GetFileName(script), bound);
    }

    /// <summary>Sends one JSON line to the script's stdin.</summary>
    public async Task SendAsync(object message)
    {
        await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(message).AsMemory(), _bound.Token);
        await _process.StandardInput.FlushAsync(_bound.Token);
    }

    /// <summary>The next line the script reports whose <c>type</c> is <paramref name="type"/>; the lines before it are returned too.</summary>
    public async Task<(JsonElement Line, IReadOnlyList<JsonElement> Before)> ReadUntilAsync(string type)
    {
        var before = new List<JsonElement>();
        try
        {
            while (await _lines.Reader.WaitToReadAsync(_bound.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (line.TryGetProperty("type", out var t) && t.GetString() == type)
                    {
                        return (line, before);
                    }

                    before.Add(line);
                }
            }
        }
        catch (OperationCanceledException) when (_bound.IsCancellationRequested)
        {
            throw Failure($"did not report {type} within its bound", before);
        }

        await _reading;
        await _process.WaitForExitAsync(CancellationToken.None);
        throw Failure($"exited with code {_process.ExitCode} before reporting {type}", before);
    }

    /// <summary>Every line the script reports until it exits; fails unless it exits with code 0.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReadToExitAsync()
    {
        var lines = new List<JsonElement>();
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(_bound.Token))
            {
                lines.Add(line);
            }

            await _process.WaitForExitAsync(_bound.Token);
        }
        catch (OperationCanceledException) when (_bound.IsCancellationRequested)
        {
            throw Failure("did not exit within its bound", lines);
        }

        await _reading;
        return _process.ExitCode == 0 ? lines : throw Failure($"exited with code {_process.ExitCode}", lines);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync(CancellationToken.None);
        await _reading;
        _bound.Dispose();
        _process.Dispose();
    }

    private Xunit.Sdk.XunitException Failure(string what, IEnumerable<JsonElement> lines) =>
        new($"{_name} {what}.\nstdout:\n{string.Join('\n', lines.Select(l => l.GetRawText()))}\nstderr:\n{Errors}");

    private async Task ReadLinesAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync(CancellationToken.None) is { } text)
        {
            try
            {
                _lines.Writer.TryWrite(JsonDocument.Parse(text).RootElement.Clone());
            }
            catch (JsonException e)
            {
                _lines.Writer.TryComplete(new Xunit.Sdk.XunitException($"{_name} wrote a line that is not JSON: {text}", e));
                return;
            }
        }

        _lines.Writer.TryComplete();
    }

    private async Task ReadErrorsAsync()
    {
        while (await _process.StandardError.ReadLineAsync(CancellationToken.None) is { } text)
        {
            lock (_errors)
            {
                _errors.AppendLine(text);
            }
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill: nothing left to stop.
        }
    }
}
