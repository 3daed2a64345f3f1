// The user-assigned identity the Function App runs as: the host's storage connection, the
// deployment package, and the app's own calls to Storage, SignalR Service, e-mail and telemetry.
// Its roles are granted in core/security/role-assignments.bicep.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags for the identity (carries azd-env-name).')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, for the Function App identity list and the deployment storage authentication.')
output id string = identity.id

@description('Name of the identity.')
output name string = identity.name

@description('Client (application) id: AzureWebJobsStorage__clientId and AZURE_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('Object id of the service principal, the subject of the role assignments.')
output principalId string = identity.properties.principalId
