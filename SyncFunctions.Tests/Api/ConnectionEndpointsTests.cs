using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Options;
using SyncFunctions.Connectors;
using SyncFunctions.Security;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Api;

/// <summary>
/// /api/v1/connections: settings round-trip, secrets are write-only (never in a response, only
/// ciphertext at rest), delete, the list of available connectors, and the folder root boundary.
/// </summary>
public sealed class ConnectionEndpointsTests(ConnectionEndpointsTests.AppFixture fixture) : IClassFixture<ConnectionEndpointsTests.AppFixture>
{
    private SyncApp App => fixture.App;

    [Fact]
    public async Task Put_WithSettingsAndSecrets_Returns200WithSecretNamesButNoSecretValue()
    {
        var tenant = SyncApp.NewTenant();
        var secret = "s3cret-" + Guid.NewGuid().ToString("N");
        using var client = VaultApp.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevToken(tenant));

        var response = await client.PutAsJsonAsync($"/api/v1/connections/{VaultConnector.ConnectorName}", new
        {
            settings = new { base_url = "https://vault.example" },
            secrets = new { api_token = secret },
        });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT answered {(int)response.StatusCode}: {body}");
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        var saved = JsonDocument.Parse(body).RootElement;
        Assert.Equal(VaultConnector.ConnectorName, saved.GetProperty("connector").GetString());
        Assert.Equal("https://vault.example", saved.GetProperty("settings").GetProperty("base_url").GetString());
        Assert.Equal(["api_token"], saved.GetProperty("secret_names").EnumerateArray().Select(n => n.GetString()));

        var list = await client.GetAsync("/api/v1/connections");
        var listBody = await list.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.DoesNotContain(secret, listBody, StringComparison.Ordinal);
        var listed = Assert.Single(JsonDocument.Parse(listBody).RootElement.GetProperty("connections").EnumerateArray());
        Assert.Equal(["api_token"], listed.GetProperty("secret_names").EnumerateArray().Select(n => n.GetString()));

        // Kept, for the connector only: the store hands it back decrypted.
        var stored = await App.Get<ConnectionStore>().GetAsync(tenant, VaultConnector.ConnectorName, CancellationToken.None);
        Assert.Equal(secret, stored?.Settings.GetSecret("api_token"));
    }

    [Fact]
    public async Task Put_WithoutSecrets_KeepsTheStoredSecretsAndAnEmptyObjectClearsThem()
    {
        var tenant = SyncApp.NewTenant();
        using var client = VaultApp.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevToken(tenant));
        var path = $"/api/v1/connections/{VaultConnector.ConnectorName}";
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync(path, new { settings = new { base_url = "https://a.example" }, secrets = new { api_token = "kept" } })).StatusCode);

        var updated = await client.PutAsJsonAsync(path, new { settings = new { base_url = "https://b.example" } });

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(["api_token"], JsonDocument.Parse(await updated.Content.ReadAsStringAsync()).RootElement.GetProperty("secret_names").EnumerateArray().Select(n => n.GetString()));
        var stored = await App.Get<ConnectionStore>().GetAsync(tenant, VaultConnector.ConnectorName, CancellationToken.None);
        Assert.Equal("kept", stored?.Settings.GetSecret("api_token"));
        Assert.Equal("https://b.example", stored?.Settings.GetString("base_url"));

        var cleared = await client.PutAsJsonAsync(path, new { settings = new { base_url = "https://b.example" }, secrets = new { } });
        Assert.Empty(JsonDocument.Parse(await cleared.Content.ReadAsStringAsync()).RootElement.GetProperty("secret_names").EnumerateArray());
    }

    [Fact]
    public async Task Put_WithSecret_StoresOnlyCiphertextInTheTableRow()
    {
        var tenant = SyncApp.NewTenant();
        var secret = "s3cret-" + Guid.NewGuid().ToString("N");
        using var client = VaultApp.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevToken(tenant));

        var response = await client.PutAsJsonAsync($"/api/v1/connections/{VaultConnector.ConnectorName}", new { secrets = new { api_token = secret } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var row = (await App.Storage.Connections.GetEntityAsync<TableEntity>(tenant, VaultConnector.ConnectorName)).Value;
        Assert.False(string.IsNullOrEmpty(row.GetString("ProtectedSecrets")));
        var encodings = new[] { secret, Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), Convert.ToHexString(Encoding.UTF8.GetBytes(secret)) };
        foreach (var (_, value) in row)
        {
            var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            Assert.DoesNotContain(encodings, e => text.Contains(e, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Put_DemoWithSecret_Returns400WithoutEchoingTheSecret()
    {
        var tenant = SyncApp.NewTenant();
        var secret = "s3cret-" + Guid.NewGuid().ToString("N");
        using var client = await App.ClientForAsync(tenant);

        var response = await client.PutAsJsonAsync("/api/v1/connections/demo", new { settings = new { items = 1 }, secrets = new { api_key = secret } });

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty("secrets.api_key", out _), body);
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        Assert.Null(await App.Get<ConnectionStore>().GetAsync(tenant, "demo", CancellationToken.None));
    }

    [Fact]
    public async Task Put_DemoWithSettings_Returns200WithTheSettings()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.PutAsJsonAsync("/api/v1/connections/demo", new { settings = new { items = 3, item_delay_ms = 0 } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var saved = await response.JsonAsync();
        Assert.Equal("demo", saved.GetProperty("connector").GetString());
        Assert.Equal(3, saved.GetProperty("settings").GetProperty("items").GetInt32());
        Assert.Equal(0, saved.GetProperty("settings").GetProperty("item_delay_ms").GetInt32());
        Assert.Empty(saved.GetProperty("secret_names").EnumerateArray());
        Assert.True(saved.GetProperty("updated_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task Delete_ExistingConnection_Returns204ThenNotFound()
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 1 });

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/connections/demo")).StatusCode);

        var again = await client.DeleteAsync("/api/v1/connections/demo");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        var list = await (await client.GetAsync("/api/v1/connections")).JsonAsync();
        Assert.Empty(list.GetProperty("connections").EnumerateArray());
        Assert.Null(await App.Get<ConnectionStore>().GetAsync(tenant, "demo", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_NeverConfiguredConnector_Returns404()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.DeleteAsync("/api/v1/connections/folder");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task List_ForNewTenant_NamesTheAvailableConnectors()
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var list = await (await client.GetAsync("/api/v1/connections")).JsonAsync();

        Assert.Empty(list.GetProperty("connections").EnumerateArray());
        Assert.Equal(["box", "demo", "folder", "github", "gmail", "slack"], list.GetProperty("available_connectors").EnumerateArray().Select(n => n.GetString()));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("/etc")]
    [InlineData("/")]
    [InlineData("docs/../../x")]
    [InlineData("./../x")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("docs\u0000")]
    public async Task PutFolder_WithPathOutsideRoot_Returns400AndStoresNothing(string path)
    {
        var tenant = SyncApp.NewTenant();
        using var client = await App.ClientForAsync(tenant);

        var response = await client.PutAsJsonAsync("/api/v1/connections/folder", new { settings = new { path } });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty("settings.path", out _), body);
        Assert.Null(await App.Get<ConnectionStore>().GetAsync(tenant, "folder", CancellationToken.None));
    }

    [Theory]
    [InlineData("docs")]
    [InlineData("docs/2024")]
    [InlineData("docs/../other")]
    [InlineData(".")]
    public async Task PutFolder_WithPathInsideRoot_Returns200(string path)
    {
        using var client = await App.ClientForAsync(SyncApp.NewTenant());

        var response = await client.PutAsJsonAsync("/api/v1/connections/folder", new { settings = new { path } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(path, (await response.JsonAsync()).GetProperty("settings").GetProperty("path").GetString());
    }

    /// <summary>The app with one more connector, one that takes a secret (demo and folder take none).</summary>
    private SyncApp VaultApp => fixture.VaultApp;

    /// <summary>A dev token signed with the test key, as POST /api/dev/token would issue it.</summary>
    private static string DevToken(string tenant) =>
        new DevTokenIssuer(Options.Create(new AuthOptions { DevSigningKey = SyncApp.SigningKey }), TimeProvider.System).Issue(tenant, $"user@{tenant}.example", []);

    /// <summary>A connector that takes one secret, to exercise the write-only secret path end to end.</summary>
    private sealed class VaultConnector : IConnector
    {
        public const string ConnectorName = "vault";

        public string Name => ConnectorName;

        public IReadOnlyDictionary<string, string[]> Validate(ConnectorSettings settings)
        {
            var errors = new Dictionary<string, string[]>();
            settings.RejectUnknown(["base_url"], ["api_token"], errors);
            return errors;
        }

        public Task<IConnectorSession> ConnectAsync(ConnectorContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException("The vault connector only exists to store a secret.");
    }

    public sealed class AppFixture : IAsyncLifetime
    {
        public SyncApp App { get; private set; } = null!;

        /// <summary>The same app settings and storage, plus the vault connector.</summary>
        public SyncApp VaultApp { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            App = await SyncApp.StartAsync();
            VaultApp = await SyncApp.StartAsync(prefix: App.Prefix, services: s => s.AddSingleton<IConnector, VaultConnector>());
        }

        public async Task DisposeAsync()
        {
            await VaultApp.DisposeAsync();
            await App.DisposeAsync();
        }
    }
}
