using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SyncFunctions.Tests.Infra;

/// <summary>
/// infra/ checked with the real Bicep CLI: compiled and linted clean, and the evaluated deployment
/// (see <see cref="InfraTemplate"/>) holds what DESIGN asks for. Values that exist only once Azure
/// has created a resource (principal ids, host names, the connection string) are checked by what
/// they refer to, e.g. that a role assignment's principal is the app identity's principalId.
/// </summary>
public sealed partial class InfraTemplateTests(InfraTemplate infra) : IClassFixture<InfraTemplate>
{
    private const string Owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    private const string Contributor = "b24988ac-6180-462b-ab42-6f7536c9b0c4";
    private const string UserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string SignalRAppServer = "420fcaa2-552c-430f-98ca-3264be4806c7";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string EmailSenderCustomRole = "custom e-mail sender";

    private const string StorageAccounts = "Microsoft.Storage/storageAccounts";
    private const string SignalR = "Microsoft.SignalRService/signalR";
    private const string CommunicationServices = "Microsoft.Communication/communicationServices";
    private const string Components = "Microsoft.Insights/components";

    [Fact]
    public void Build_MainBicep_SucceedsWithoutWarnings()
    {
        Assert.True(infra.Build.ExitCode == 0, infra.Build.Output);
        Assert.DoesNotMatch(DiagnosticLine(), infra.Build.Output);
    }

    [Fact]
    public void Lint_MainBicep_ReportsNothing()
    {
        Assert.True(infra.Lint.ExitCode == 0, infra.Lint.Output);
        Assert.DoesNotMatch(DiagnosticLine(), infra.Lint.Output);
    }

    [Fact]
    public void Snapshot_EveryTrackedResource_HasTheAzdEnvNameTag()
    {
        // Tracked resources (those with a location) are the ones ARM can tag; child resources such as
        // queues, containers, app settings and role assignments cannot carry tags.
        var tracked = Resources(infra.WithUser).Where(r => r["location"] is not null).ToList();

        Assert.Equal(
            [
                "Microsoft.Communication/communicationServices",
                "Microsoft.Communication/emailServices",
                "Microsoft.Communication/emailServices/domains",
                "Microsoft.Insights/components",
                "Microsoft.ManagedIdentity/userAssignedIdentities",
                "Microsoft.OperationalInsights/workspaces",
                "Microsoft.Resources/resourceGroups",
                "Microsoft.SignalRService/signalR",
                "Microsoft.Storage/storageAccounts",
                "Microsoft.Web/serverfarms",
                "Microsoft.Web/sites",
            ],
            tracked.Select(Type).Order(StringComparer.Ordinal));
        Assert.All(tracked, r => Assert.Equal(InfraTemplate.EnvironmentName, (string?)r["tags"]?["azd-env-name"]));
        Assert.All(
            Resources(infra.WithUser).Where(r => r["location"] is null),
            r => Assert.Null(r["tags"]));
    }

    [Fact]
    public void Snapshot_ResourceGroup_IsNamedAfterTheEnvironment() =>
        Assert.Equal("rg-" + InfraTemplate.EnvironmentName, (string?)Single(infra.WithUser, "Microsoft.Resources/resourceGroups")["name"]);

    [Fact]
    public void Snapshot_ResourceNames_EndWithOneResourceToken()
    {
        var storageName = (string)Single(infra.WithUser, StorageAccounts)["name"]!;
        Assert.StartsWith("st", storageName, StringComparison.Ordinal);
        var token = storageName["st".Length..];
        Assert.Equal(13, token.Length);

        var named = Resources(infra.WithUser)
            .Where(r => r["location"] is not null)
            .Where(r => Type(r) is not ("Microsoft.Resources/resourceGroups" or "Microsoft.Communication/emailServices/domains"))
            .ToList();
        Assert.Equal(9, named.Count);
        Assert.All(named, r => Assert.EndsWith(token, (string)r["name"]!, StringComparison.Ordinal));
    }

    [Fact]
    public void Snapshot_FunctionApp_IsTaggedWithTheServiceNameOfAzureYaml()
    {
        var azureYaml = File.ReadAllText(Path.Combine(infra.RepoRoot, "azure.yaml"));
        var service = AzureYamlService().Match(azureYaml);
        Assert.True(service.Success, "azure.yaml names no service:\n" + azureYaml);
        Assert.Equal("./SyncFunctions", service.Groups["project"].Value);
        Assert.Equal("dotnet", service.Groups["language"].Value);
        Assert.Equal("function", service.Groups["host"].Value);

        var site = Single(infra.WithUser, "Microsoft.Web/sites");
        Assert.Equal(service.Groups["name"].Value, (string?)site["tags"]?["azd-service-name"]);
        Assert.Single(Resources(infra.WithUser), r => r["tags"]?["azd-service-name"] is not null);
    }

    [Fact]
    public void Snapshot_IdentityRoleAssignments_AreExactlyTheRolesOfDesign()
    {
        var identityId = Id(Single(infra.WithUser, "Microsoft.ManagedIdentity/userAssignedIdentities"));
        var identityPrincipal = $"[reference('{identityId}', '2023-01-31').principalId]";

        var assignments = RoleAssignments(infra.WithUser).Where(a => a.PrincipalId == identityPrincipal).ToList();

        Assert.Equal(
            Sorted(
                $"{StorageAccounts} {StorageBlobDataOwner}",
                $"{StorageAccounts} {StorageQueueDataContributor}",
                $"{StorageAccounts} {StorageTableDataContributor}",
                $"{SignalR} {SignalRAppServer}",
                $"{CommunicationServices} {EmailSenderCustomRole}",
                $"{Components} {MonitoringMetricsPublisher}"),
            assignments.Select(a => $"{a.ScopeType} {a.Role}").Order(StringComparer.Ordinal));
        Assert.All(assignments, a => Assert.Equal("ServicePrincipal", a.PrincipalType));
        Assert.Equal(6, RoleAssignments(infra.WithoutUser).Count);
    }

    [Fact]
    public void Snapshot_RoleAssignments_NeverGrantOwnerContributorOrAccessAdministration()
    {
        var roles = RoleAssignments(infra.WithUser).Concat(RoleAssignments(infra.WithoutUser)).Select(a => a.Role).ToList();

        Assert.NotEmpty(roles);
        Assert.DoesNotContain(Owner, roles);
        Assert.DoesNotContain(Contributor, roles);
        Assert.DoesNotContain(UserAccessAdministrator, roles);
        Assert.DoesNotContain(Owner, infra.CompiledText, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Contributor, infra.CompiledText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Snapshot_EmailSenderRole_AllowsOnlyReadingCommunicationServicesAndSendingEmail()
    {
        var role = Single(infra.WithUser, "Microsoft.Authorization/roleDefinitions");
        var permissions = Assert.Single(role["properties"]!["permissions"]!.AsArray());

        Assert.Equal("CustomRole", (string?)role["properties"]!["type"]);
        Assert.Equal(
            ["Microsoft.Communication/CommunicationServices/Read", "Microsoft.Communication/EmailServices/write"],
            Strings(permissions!["actions"]));
        Assert.Empty(Strings(permissions["notActions"]));
        Assert.Empty(Strings(permissions["dataActions"]));
        Assert.Empty(Strings(permissions["notDataActions"]));
        Assert.Equal([Id(Single(infra.WithUser, "Microsoft.Resources/resourceGroups"))], Strings(role["properties"]!["assignableScopes"]));
    }

    [Fact]
    public void Snapshot_DeployingUser_GetsOnlyTheStorageDataRoles()
    {
        var userAssignments = RoleAssignments(infra.WithUser).Where(a => a.PrincipalId == InfraTemplate.UserPrincipalId).ToList();

        Assert.Equal(
            Sorted(StorageBlobDataOwner, StorageQueueDataContributor, StorageTableDataContributor),
            userAssignments.Select(a => a.Role).Order(StringComparer.Ordinal));
        Assert.All(userAssignments, a => Assert.Equal(StorageAccounts, a.ScopeType));
        Assert.DoesNotContain(RoleAssignments(infra.WithoutUser), a => !a.PrincipalId.StartsWith("[reference(", StringComparison.Ordinal));
    }

    [Fact]
    public void Snapshot_StorageAccount_RefusesSharedKeysPublicBlobsAndOldTls()
    {
        var properties = Single(infra.WithUser, StorageAccounts)["properties"]!;

        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
        Assert.True((bool)properties["supportsHttpsTrafficOnly"]!);
    }

    [Fact]
    public void Snapshot_Storage_HasTheDeploymentContainerAndLeavesTheTaskHubToTheDurableBackend()
    {
        var storageName = (string)Single(infra.WithUser, StorageAccounts)["name"]!;

        Assert.DoesNotContain(Resources(infra.WithUser), r => Type(r) == "Microsoft.Storage/storageAccounts/queueServices/queues");
        Assert.Equal(
            [$"{storageName}/default/app-package"],
            Resources(infra.WithUser).Where(r => Type(r) == "Microsoft.Storage/storageAccounts/blobServices/containers").Select(r => (string)r["name"]!));
    }

    [Fact]
    public void Snapshot_SignalR_IsServerlessWithLocalAuthOff()
    {
        var properties = Single(infra.WithUser, SignalR)["properties"]!;

        var serviceMode = Assert.Single(properties["features"]!.AsArray(), f => (string?)f!["flag"] == "ServiceMode");
        Assert.Equal("Serverless", (string?)serviceMode!["value"]);
        Assert.True((bool)properties["disableLocalAuth"]!);
        Assert.False((bool)properties["disableAadAuth"]!);
    }

    [Fact]
    public void Snapshot_ApplicationInsights_IsWorkspaceBasedWithLocalAuthOff()
    {
        var properties = Single(infra.WithUser, Components)["properties"]!;

        Assert.True((bool)properties["DisableLocalAuth"]!);
        Assert.Equal(Id(Single(infra.WithUser, "Microsoft.OperationalInsights/workspaces")), (string?)properties["WorkspaceResourceId"]);
    }

    [Fact]
    public void Snapshot_Email_HasAnAzureManagedDomainLinkedToCommunicationServices()
    {
        var domain = Single(infra.WithUser, "Microsoft.Communication/emailServices/domains");
        var communication = Single(infra.WithUser, CommunicationServices);

        Assert.Equal("AzureManaged", (string?)domain["properties"]!["domainManagement"]);
        Assert.Equal([Id(domain)], Strings(communication["properties"]!["linkedDomains"]));
        Assert.True((bool)communication["properties"]!["disableLocalAuth"]!);
    }

    [Fact]
    public void Snapshot_FunctionApp_RunsTheCustomHandlerOnFlexConsumptionAsTheIdentity()
    {
        var plan = Single(infra.WithUser, "Microsoft.Web/serverfarms");
        var site = Single(infra.WithUser, "Microsoft.Web/sites");
        var identityId = Id(Single(infra.WithUser, "Microsoft.ManagedIdentity/userAssignedIdentities"));
        var storageId = Id(Single(infra.WithUser, StorageAccounts));
        var config = site["properties"]!["functionAppConfig"]!;

        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.True((bool)plan["properties"]!["reserved"]!);
        Assert.Equal("functionapp,linux", (string?)site["kind"]);
        Assert.Equal(Id(plan), (string?)site["properties"]!["serverFarmId"]);
        Assert.Equal("UserAssigned", (string?)site["identity"]!["type"]);
        Assert.Equal([identityId], site["identity"]!["userAssignedIdentities"]!.AsObject().Select(p => p.Key));
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        Assert.Equal(2048, (int)config["scaleAndConcurrency"]!["instanceMemoryMB"]!);
        Assert.Equal(100, (int)config["scaleAndConcurrency"]!["maximumInstanceCount"]!);

        var storage = config["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", (string?)storage["type"]);
        Assert.Equal($"[format('{{0}}{{1}}', reference('{storageId}', '2024-01-01').primaryEndpoints.blob, 'app-package')]", (string?)storage["value"]);
        Assert.Equal("UserAssignedIdentity", (string?)storage["authentication"]!["type"]);
        Assert.Equal(identityId, (string?)storage["authentication"]!["userAssignedIdentityResourceId"]);

        Assert.All(
            Resources(infra.WithUser).Where(r => Type(r) == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"),
            p => Assert.False((bool)p["properties"]!["allow"]!));
    }

    [Fact]
    public void Snapshot_AppSettings_ReachStorageAsTheIdentityWithoutAKey()
    {
        var settings = AppSettings();
        var identityId = Id(Single(infra.WithUser, "Microsoft.ManagedIdentity/userAssignedIdentities"));
        var clientId = $"[reference('{identityId}', '2023-01-31').clientId]";

        Assert.Equal((string?)Single(infra.WithUser, StorageAccounts)["name"], settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal(clientId, settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal(clientId, settings["AZURE_CLIENT_ID"]);
        Assert.Equal($"[format('Authorization=AAD;ClientId={{0}}', {clientId[1..^1]})]", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"));
    }

    [Fact]
    public void Snapshot_AppSettings_PointAtTheDeployedServices()
    {
        var settings = AppSettings();

        Assert.Equal($"[reference('{Id(Single(infra.WithUser, Components))}', '2020-02-02').ConnectionString]", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        Assert.Equal($"[format('https://{{0}}', reference('{Id(Single(infra.WithUser, SignalR))}', '2024-03-01').hostName)]", settings["AZURE_SIGNALR_ENDPOINT"]);
        Assert.Equal($"[format('https://{{0}}', reference('{Id(Single(infra.WithUser, CommunicationServices))}', '2025-05-01').hostName)]", settings["ACS_EMAIL_ENDPOINT"]);
        Assert.Equal(
            $"[format('{{0}}@{{1}}', 'DoNotReply', reference('{Id(Single(infra.WithUser, "Microsoft.Communication/emailServices/domains"))}', '2025-05-01').mailFromSenderDomain)]",
            settings["ACS_EMAIL_SENDER"]);
        Assert.Equal(InfraTemplate.AuthAuthority, settings["AUTH_AUTHORITY"]);
        Assert.Equal(InfraTemplate.AuthAudience, settings["AUTH_AUDIENCE"]);
        Assert.Equal("0 */5 * * * *", settings["SYNC_SWEEP_SCHEDULE"]);
        Assert.Equal("SyncFunctions", settings["SYNC_TASK_HUB"]);
    }

    [Fact]
    public void Snapshot_AppSettings_SetEveryVariableOfTheReadmeThatHasAPlaceInAzure()
    {
        // Left out on purpose, as main.bicep says: the storage connection string (keyless settings
        // instead), the SignalR access-key connection string (the identity instead), development-only
        // and local-only variables, and SMTP (e-mail goes through Communication Services in Azure).
        // Telemetry goes to Application Insights there, so neither OTLP nor the console exporter is set.
        // SYNC_DASHBOARD_URL defaults to https://{WEBSITE_HOSTNAME}/ there, which App Service sets.
        string[] notInAzure = ["AzureWebJobsStorage", "ASPNETCORE_URLS", "SYNC_DASHBOARD_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "SYNC_TELEMETRY_CONSOLE", "AZURE_SIGNALR_CONNECTION_STRING", "AUTH_DEV_SIGNING_KEY", "SYNC_LOCAL_SETTINGS_FILE", "FOLDER_CONNECTOR_ROOT"];
        var readme = File.ReadAllText(Path.Combine(infra.RepoRoot, "README.md"));
        var configuration = readme[readme.IndexOf("## Configuration", StringComparison.Ordinal)..];
        configuration = configuration[..configuration.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var variables = ConfigurationRow().Matches(configuration)
            .SelectMany(row => BacktickedVariable().Matches(row.Groups["first"].Value).Select(v => v.Groups["name"].Value))
            .Where(v => !notInAzure.Contains(v) && !v.StartsWith("SMTP_", StringComparison.Ordinal))
            .ToList();

        var settings = AppSettings();

        Assert.Contains("SYNC_BASE_TIMEOUT_SECONDS", variables);
        Assert.Contains("AUTH_AUDIENCE", variables);
        Assert.All(variables, v => Assert.True(settings.ContainsKey(v), $"{v} is in the README's configuration table but not in the Function App's settings."));
        Assert.Equal("300", settings["SYNC_BASE_TIMEOUT_SECONDS"]);
        Assert.Equal("7200", settings["SYNC_MAX_TIMEOUT_SECONDS"]);
        Assert.Equal("", settings["SYNC_STORAGE_PREFIX"]);
    }

    [Fact]
    public void Snapshot_AppSettings_HoldNoSecretAndNothingFlexConsumptionRefuses()
    {
        var settings = AppSettings();
        string[] refusedOnFlex = ["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"];

        Assert.True(settings.Count > 20);
        Assert.All(settings.Keys, k => Assert.DoesNotMatch(SecretName(), k));
        Assert.All(settings.Values, v => Assert.DoesNotMatch(SecretValue(), v));
        Assert.All(refusedOnFlex, k => Assert.False(settings.ContainsKey(k), k));
    }

    [Fact]
    public void Template_Anywhere_CallsNoListFunction()
    {
        // listKeys, listConnectionString(s), listSecrets, listAccountSas, … all hand out keys.
        Assert.DoesNotMatch(ListFunction(), infra.CompiledText);
        Assert.DoesNotMatch(ListFunction(), infra.WithUser.ToJsonString());
    }

    [Fact]
    public void Template_ParametersAndOutputs_AreNeverSecureOrNamedForASecret()
    {
        var templates = Templates(infra.Compiled).ToList();
        Assert.Equal(8, templates.Count);

        foreach (var template in templates)
        {
            foreach (var (name, parameter) in template["parameters"]?.AsObject() ?? [])
            {
                Assert.DoesNotContain("secure", (string)parameter!["type"]!, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotMatch(SecretName(), name);
            }

            foreach (var (name, output) in template["outputs"]?.AsObject() ?? [])
            {
                Assert.DoesNotContain("secure", (string)output!["type"]!, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotMatch(SecretName(), name);
            }
        }
    }

    [Fact]
    public void Snapshot_Outputs_GiveAzdAndTheAppWhatTheyNeed()
    {
        var outputs = infra.WithUser["outputs"]!.AsObject();

        Assert.Equal(InfraTemplate.Location, (string?)outputs["AZURE_LOCATION"]);
        Assert.Equal(InfraTemplate.TenantId, (string?)outputs["AZURE_TENANT_ID"]);
        Assert.Equal("rg-" + InfraTemplate.EnvironmentName, (string?)outputs["AZURE_RESOURCE_GROUP"]);
        Assert.Equal((string?)Single(infra.WithUser, "Microsoft.Web/sites")["name"], (string?)outputs["AZURE_FUNCTION_APP_NAME"]);
        Assert.Equal((string?)Single(infra.WithUser, StorageAccounts)["name"], (string?)outputs["AZURE_STORAGE_ACCOUNT_NAME"]);
        var settings = AppSettings();
        foreach (var shared in new[] { "AZURE_SIGNALR_ENDPOINT", "ACS_EMAIL_ENDPOINT", "ACS_EMAIL_SENDER", "APPLICATIONINSIGHTS_CONNECTION_STRING" })
        {
            Assert.Equal(settings[shared], (string?)outputs[shared]);
        }

        // Not AZURE_CLIENT_ID: in azd's environment that name would steer DefaultAzureCredential of
        // anything run locally with those values towards an identity that exists only in Azure.
        Assert.Equal(settings["AZURE_CLIENT_ID"], (string?)outputs["AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID"]);
        Assert.Null(outputs["AZURE_CLIENT_ID"]);
    }

    [Fact]
    public void ParametersFile_GivesEveryRequiredParameterFromAnAzdVariable()
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(infra.InfraDirectory, "main.parameters.json")))!["parameters"]!.AsObject();
        var required = infra.Compiled["parameters"]!.AsObject().Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key).ToList();

        Assert.Equal(["authAudience", "authAuthority", "environmentName", "location"], required.Order(StringComparer.Ordinal));
        Assert.All(required, p => Assert.Matches(@"^\$\{[A-Z_]+\}$", (string?)file[p]?["value"] ?? ""));
        Assert.Equal("${AZURE_ENV_NAME}", (string?)file["environmentName"]!["value"]);
        Assert.Equal("${AZURE_LOCATION}", (string?)file["location"]!["value"]);
        Assert.Equal("${AZURE_PRINCIPAL_ID}", (string?)file["principalId"]!["value"]);
    }

    private Dictionary<string, string> AppSettings() =>
        Single(infra.WithUser, "Microsoft.Web/sites/config")["properties"]!.AsObject()
            .ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal);

    private static List<RoleAssignment> RoleAssignments(JsonObject snapshot)
    {
        var byId = Resources(snapshot).ToDictionary(Id, StringComparer.OrdinalIgnoreCase);
        var customRoles = Resources(snapshot).Where(r => Type(r) == "Microsoft.Authorization/roleDefinitions").Select(Id).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return Resources(snapshot)
            .Where(r => Type(r) == "Microsoft.Authorization/roleAssignments")
            .Select(r =>
            {
                var id = Id(r);
                var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.OrdinalIgnoreCase)];
                var roleDefinitionId = (string)r["properties"]!["roleDefinitionId"]!;
                var role = customRoles.Contains(roleDefinitionId) ? EmailSenderCustomRole : roleDefinitionId[(roleDefinitionId.LastIndexOf('/') + 1)..];
                return new RoleAssignment(
                    Type(byId[scope]),
                    role,
                    (string)r["properties"]!["principalId"]!,
                    (string?)r["properties"]!["principalType"]);
            })
            .ToList();
    }

    /// <summary>The template and every nested (module) template in it.</summary>
    private static IEnumerable<JsonObject> Templates(JsonObject template)
    {
        yield return template;
        var resources = template["resources"] switch
        {
            JsonArray array => array.Select(r => r!.AsObject()),
            JsonObject symbolic => symbolic.Select(p => p.Value!.AsObject()),
            _ => [],
        };
        foreach (var nested in resources.Where(r => Type(r) == "Microsoft.Resources/deployments"))
        {
            foreach (var inner in Templates(nested["properties"]!["template"]!.AsObject()))
            {
                yield return inner;
            }
        }
    }

    private static IEnumerable<JsonObject> Resources(JsonObject snapshot) =>
        snapshot["predictedResources"]!.AsArray().Select(r => r!.AsObject());

    private static JsonObject Single(JsonObject snapshot, string type) =>
        Assert.Single(Resources(snapshot), r => Type(r) == type);

    private static string Type(JsonObject resource) => (string)resource["type"]!;

    private static string Id(JsonObject resource) => (string)resource["id"]!;

    private static IOrderedEnumerable<string> Sorted(params string[] values) => values.Order(StringComparer.Ordinal);

    private static List<string> Strings(JsonNode? array) => array!.AsArray().Select(n => (string)n!).ToList();

    [GeneratedRegex(@"\b(Warning|Error)\b")]
    private static partial Regex DiagnosticLine();

    [GeneratedRegex(@"\blist\w*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListFunction();

    [GeneratedRegex("KEY|SECRET|PASSWORD|PASSWD|SAS", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex("AccountKey=|SharedAccessKey|SharedAccessSignature|AccessKey=|sig=|password", RegexOptions.IgnoreCase)]
    private static partial Regex SecretValue();

    [GeneratedRegex(@"^services:[ \t]*\n  (?<name>[a-z0-9-]+):[ \t]*\n(?:    \w+: .*\n)*?    project: (?<project>\S+)\s*\n(?:    \w+: .*\n)*?    language: (?<language>\S+)\s*\n(?:    \w+: .*\n)*?    host: (?<host>\S+)", RegexOptions.Multiline)]
    private static partial Regex AzureYamlService();

    [GeneratedRegex(@"^\| (?<first>[^|]+)\|", RegexOptions.Multiline)]
    private static partial Regex ConfigurationRow();

    [GeneratedRegex("`(?<name>[A-Za-z][A-Za-z0-9_]*)`")]
    private static partial Regex BacktickedVariable();

    private sealed record RoleAssignment(string ScopeType, string Role, string PrincipalId, string? PrincipalType);
}
