using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.IdentityModel.Tokens;
using SyncFunctions.Storage;
using SyncFunctions.Tests.Infrastructure;

namespace SyncFunctions.Tests.Storage;

/// <summary>
/// The cloud-style configuration: no connection string and no key, only the services' URIs
/// (AzureWebJobsStorage__tableServiceUri, …) and a credential, as in Azure. Azurite plays the account
/// over HTTPS with OAuth on (it checks each bearer token's lifetime, issuer and audience; the SDK sends
/// bearer tokens only over TLS), and a fake credential plays Entra ID.
/// </summary>
public sealed class KeylessStorageTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("syncfunctions-tls-").FullName;
    private X509Certificate2 _certificate = null!;
    private AzuriteServer _azurite = null!;

    /// <summary>Issues Entra-shaped tokens for storage, and remembers which scopes it was asked for.</summary>
    private sealed class FakeEntraCredential(string issuer) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (Scopes)
            {
                Scopes.AddRange(requestContext.Scopes);
            }

            var now = DateTime.UtcNow;
            var token = new JwtSecurityToken(
                issuer: issuer,
                audience: "https://storage.azure.com",
                claims:
                [
                    new Claim("oid", Guid.NewGuid().ToString()),
                    new Claim("tid", "00000000-0000-0000-0000-000000000001"),
                    new Claim("iat", new DateTimeOffset(now).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64),
                ],
                notBefore: now.AddMinutes(-5),
                expires: now.AddHours(1),
                signingCredentials: new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)), SecurityAlgorithms.HmacSha256));
            return new AccessToken(new JwtSecurityTokenHandler().WriteToken(token), DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    public async Task InitializeAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_directory, "cert.pem");
        var keyPath = Path.Combine(_directory, "key.pem");
        await File.WriteAllTextAsync(certPath, _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        _azurite = await AzuriteServer.StartDedicatedAsync("https", "--oauth", "basic", "--cert", certPath, "--key", keyPath);
    }

    public Task DisposeAsync()
    {
        _azurite.Dispose();
        _certificate.Dispose();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Trusts exactly the test's self-signed certificate, nothing else.</summary>
    private HttpClientTransport TrustingTransport() => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == _certificate.Thumbprint,
    });

    [Fact]
    public async Task App_WithServiceUrisAndACredentialOnly_StartsAndRunsASyncWithoutAnyKey()
    {
        var credential = new FakeEntraCredential("https://sts.windows.net/00000000-0000-0000-0000-000000000001/");
        // The Durable backend builds its own storage clients from the same settings (its keyless path is
        // the extension's, with the managed identity in Azure); it cannot be handed this test's credential
        // and self-signed certificate, so here it keeps its task hub on the shared Azurite by connection string.
        var durableStorage = (await AzuriteServer.GetAsync()).ConnectionString;
        await using var app = await SyncApp.StartAsync(
            new Dictionary<string, string?>
            {
                ["AzureWebJobs:extensions:durableTask:storageProvider:connectionName"] = "DurableTaskHubStorage",
                ["DurableTaskHubStorage"] = durableStorage,
                ["AzureWebJobsStorage"] = "",
                ["AzureWebJobsStorage:tableServiceUri"] = _azurite.TableEndpoint.ToString(),
                ["AzureWebJobsStorage:queueServiceUri"] = _azurite.QueueEndpoint.ToString(),
                ["AzureWebJobsStorage:blobServiceUri"] = _azurite.BlobEndpoint.ToString(),
                ["AzureWebJobsStorage:credential"] = "managedidentity",
                ["AzureWebJobsStorage:clientId"] = Guid.NewGuid().ToString(),
            },
            services: s => s.AddSingleton(new StorageClientSetup { Credential = credential, Transport = TrustingTransport() }));
        var settings = app.Get<StorageSettings>();
        Assert.Null(settings.ConnectionString);
        var tenant = SyncApp.NewTenant();
        using var client = await app.ClientForAsync(tenant);
        await client.PutConnectionAsync("demo", new { items = 10 });

        var syncId = await client.TriggerAsync();
        var done = await client.WaitForEndAsync(syncId);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Contains("https://storage.azure.com/.default", credential.Scopes);
    }

    [Fact]
    public async Task Azurite_WithATokenFromAnUntrustedIssuer_RefusesTheRequest()
    {
        // The control that makes the test above mean something: this Azurite does check bearer tokens.
        var table = new TableServiceClient(_azurite.TableEndpoint, new FakeEntraCredential("https://evil.example/"), new TableClientOptions { Transport = TrustingTransport() });

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => table.CreateTableIfNotExistsAsync("keylessprobe"));

        Assert.Equal(403, error.Status);
        Assert.Contains("AuthenticationFailed", error.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid token issuer", error.Message, StringComparison.Ordinal);
    }
}
