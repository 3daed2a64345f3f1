// SyncFunctions in Azure, in azd's conventions: `azd up` creates the resource group rg-<environment>
// and everything in it. One module per concern; every name is an abbreviation plus a token that is
// unique per subscription, environment and region. No key, password or connection string with a key
// is created, read or passed: every client authenticates with Entra ID as the app's user-assigned
// identity (see core/security/role-assignments.bicep for its roles).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the token in every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (one where Flex Consumption is offered). Communication Services are global; see emailDataLocation.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or pipeline principal (azd sets AZURE_PRINCIPAL_ID). When set, it gets data access to the storage account to inspect tables, queues and blobs; empty for none.')
param principalId string = ''

@minLength(1)
@description('Issuer of the bearer tokens the API accepts (AUTH_AUTHORITY), e.g. https://login.microsoftonline.com/<tenant id>/v2.0.')
param authAuthority string

@minLength(1)
@description('Audience of the bearer tokens the API accepts (AUTH_AUDIENCE), e.g. api://<application id>.')
param authAudience string

@description('Memory of each Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Function App instances (the cost ceiling under load).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('SignalR Service tier: Free_F1 (20 connections, 20,000 messages a day, no SLA) or Standard_S1.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param signalRSku string = 'Free_F1'

@description('Where Communication Services keeps e-mail data at rest.')
param emailDataLocation string = 'United States'

@description('SYNC_BASE_TIMEOUT_SECONDS: adaptive timeout base.')
@minValue(1)
param syncBaseTimeoutSeconds int = 300

@description('SYNC_PER_FILE_TIMEOUT_SECONDS: adaptive timeout added per item.')
@minValue(0)
param syncPerFileTimeoutSeconds int = 10

@description('SYNC_MIN_TIMEOUT_SECONDS: lower clamp of the adaptive timeout.')
@minValue(1)
param syncMinTimeoutSeconds int = 300

@description('SYNC_MAX_TIMEOUT_SECONDS: upper clamp of the adaptive timeout (host.json\'s functionTimeout must stay above it).')
@minValue(1)
param syncMaxTimeoutSeconds int = 7200

@description('SYNC_HEARTBEAT_INTERVAL_SECONDS: heartbeat of a running sync.')
@minValue(1)
param syncHeartbeatIntervalSeconds int = 30

@description('SYNC_STALE_AFTER_SECONDS: heartbeat age that marks a run stuck; 0 for 3 x heartbeat.')
@minValue(0)
param syncStaleAfterSeconds int = 0

@description('SYNC_CLEANUP_INTERVAL_SECONDS: sweep interval where no schedule is set (the local host); keep it equal to syncSweepSchedule.')
@minValue(1)
param syncCleanupIntervalSeconds int = 300

@description('SYNC_SWEEP_SCHEDULE: NCRONTAB schedule of the StaleSyncSweep timer function in Azure (every 5 minutes).')
param syncSweepSchedule string = '0 */5 * * * *'

@description('SYNC_QUEUE_TIMEOUT_SECONDS: how long a sync may hold its tenant\'s lock without having begun before another takes it over.')
@minValue(1)
param syncQueueTimeoutSeconds int = 900

@description('SYNC_DEMO_TENANT: give this tenant a demo connector at start; empty in production.')
param syncDemoTenant string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// The service name in azure.yaml; azd deploys to the app tagged with it.
var serviceName = 'syncfunctions'
var functionAppName = '${abbrs.webSitesFunctions}${serviceName}-${resourceToken}'
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}${serviceName}-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'
var signalRName = '${abbrs.signalRServiceSignalR}${resourceToken}'
var communicationServiceName = '${abbrs.communicationServices}${resourceToken}'
var deploymentContainerName = 'app-package'
// The Durable task hub (its queues, tables and lease blobs): the backend creates it on first start.
var taskHubName = 'SyncFunctions'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    containers: [
      deploymentContainerName
    ]
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

module signalR 'core/signalr/signalr.bicep' = {
  name: 'signalr'
  scope: rg
  params: {
    name: signalRName
    location: location
    tags: tags
    skuName: signalRSku
  }
}

module email 'core/communication/email.bicep' = {
  name: 'email'
  scope: rg
  params: {
    communicationServiceName: communicationServiceName
    emailServiceName: '${abbrs.communicationEmailServices}${resourceToken}'
    dataLocation: emailDataLocation
    tags: tags
  }
}

module roles 'core/security/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    identityName: identityName
    userPrincipalId: principalId
    storageAccountName: storageAccountName
    signalRName: signalRName
    communicationServiceName: communicationServiceName
    applicationInsightsName: applicationInsightsName
  }
  // Names are passed, not outputs, so What-If can predict the assignments; hence the explicit order.
  dependsOn: [
    identity
    storage
    monitoring
    signalR
    email
  ]
}

// Every variable the app reads (README, Configuration) that has a place in Azure. Left out on
// purpose: AzureWebJobsStorage as a connection string (keyless settings instead), SMTP_* (e-mail goes
// through Communication Services here; SMTP_PASSWORD would be a secret), AZURE_SIGNALR_CONNECTION_STRING
// (an access key; the service is reached with the identity instead), AUTH_DEV_SIGNING_KEY
// (Development only), SYNC_DASHBOARD_URL (the app derives its link from WEBSITE_HOSTNAME, which App
// Service sets; the app's own host name is not known before it exists), SYNC_LOCAL_SETTINGS_FILE and FOLDER_CONNECTOR_* paths (local only), and
// FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION (Flex Consumption takes the runtime from
// functionAppConfig and refuses them as settings).
var appSettings = {
  // The host's and the app's storage, keyless, one setting for both.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // DefaultAzureCredential (SignalR Service, e-mail) picks the user-assigned identity.
  AZURE_CLIENT_ID: identity.outputs.clientId
  // Telemetry with an Entra token (local auth is off on the component).
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'
  // Live progress and e-mail.
  AZURE_SIGNALR_ENDPOINT: signalR.outputs.endpoint
  AZURE_SIGNALR_HUB: 'sync'
  SYNC_STREAM_POLL_MILLISECONDS: '1000'
  SYNC_STREAM_KEEPALIVE_SECONDS: '15'
  ACS_EMAIL_ENDPOINT: email.outputs.endpoint
  ACS_EMAIL_SENDER: email.outputs.senderAddress
  ACS_EMAIL_POLL_TIMEOUT_SECONDS: '120'
  SYNC_NOTIFICATION_MAX_ATTEMPTS: '5'
  SYNC_NOTIFICATION_RETRY_SECONDS: '10'

  // Callers' tokens.
  AUTH_AUTHORITY: authAuthority
  AUTH_AUDIENCE: authAudience
  // Sync behaviour.
  SYNC_BASE_TIMEOUT_SECONDS: string(syncBaseTimeoutSeconds)
  SYNC_PER_FILE_TIMEOUT_SECONDS: string(syncPerFileTimeoutSeconds)
  SYNC_MIN_TIMEOUT_SECONDS: string(syncMinTimeoutSeconds)
  SYNC_MAX_TIMEOUT_SECONDS: string(syncMaxTimeoutSeconds)
  SYNC_HEARTBEAT_INTERVAL_SECONDS: string(syncHeartbeatIntervalSeconds)
  SYNC_STALE_AFTER_SECONDS: string(syncStaleAfterSeconds)
  SYNC_CLEANUP_INTERVAL_SECONDS: string(syncCleanupIntervalSeconds)
  SYNC_SWEEP_SCHEDULE: syncSweepSchedule
  SYNC_QUEUE_TIMEOUT_SECONDS: string(syncQueueTimeoutSeconds)
  SYNC_CONNECT_TIMEOUT_SECONDS: '30'
  SYNC_REQUEST_TIMEOUT_SECONDS: '30'
  SYNC_REQUEST_MAX_RETRIES: '6'
  SYNC_REQUEST_RETRY_DELAY_MILLISECONDS: '1000'
  SYNC_ITEM_PARALLELISM: '4'
  SYNC_BATCH_SECONDS: '15'
  SYNC_PROGRESS_FLUSH_MILLISECONDS: '1000'
  // One app per storage account here: no table prefix. host.json names the task hub %SYNC_TASK_HUB%.
  SYNC_STORAGE_PREFIX: ''
  SYNC_TASK_HUB: taskHubName
  SYNC_DEMO_TENANT: syncDemoTenant
  FOLDER_CONNECTOR_MAX_TEXT_BYTES: '1048576'
}

module functionApp 'core/host/flex-function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    name: functionAppName
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    deploymentStorageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
  // The host reads storage and the deployment package as the identity from its first start.
  dependsOn: [
    roles
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_SIGNALR_ENDPOINT string = signalR.outputs.endpoint
output ACS_EMAIL_ENDPOINT string = email.outputs.endpoint
output ACS_EMAIL_SENDER string = email.outputs.senderAddress
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
