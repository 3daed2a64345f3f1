// Exactly the data-plane roles the app needs, on the resources it needs them on, for its
// user-assigned identity; and, when a deploying user is given, read/write data access to the
// storage account so they can look at tables, queues and blobs (no other role for them).
// No Owner or Contributor anywhere.
//
// Sending e-mail: no built-in role grants only that. The one that covers it, "Communication and
// Email Service Owner", also lists and regenerates keys and deletes resources; Contributor is
// broader still. So a custom role holds just the two actions Microsoft documents for sending with
// an Entra identity: reading the Communication Services resource and the e-mail send action
// (Microsoft.Communication/EmailServices/write). One revision of Microsoft's SMTP guide adds
// CommunicationServices/Write, which would also let the identity change the resource (its linked
// domains, its local auth); it is left out until a send is shown to need it.

@description('Name of the app\'s user-assigned identity.')
param identityName string

@description('Object id of the deploying user (azd\'s AZURE_PRINCIPAL_ID); empty for none.')
param userPrincipalId string = ''

@description('Name of the storage account.')
param storageAccountName string

@description('Name of the SignalR Service.')
param signalRName string

@description('Name of the Communication Services resource.')
param communicationServiceName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var signalRAppServer = '420fcaa2-552c-430f-98ca-3264be4806c7'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

var storageDataRoles = [
  storageBlobDataOwner
  storageQueueDataContributor
  storageTableDataContributor
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

var identityPrincipalId = identity.properties.principalId

resource storageAccount 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource signalR 'Microsoft.SignalRService/signalR@2024-03-01' existing = {
  name: signalRName
}

resource communicationService 'Microsoft.Communication/communicationServices@2025-05-01' existing = {
  name: communicationServiceName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource emailSender 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'syncfunctions-email-sender')
  properties: {
    // Role names are unique in the tenant: the resource group's name alone may repeat across subscriptions.
    roleName: 'SyncFunctions E-mail Sender (${resourceGroup().name}, ${uniqueString(resourceGroup().id)})'
    description: 'Send e-mail through Azure Communication Services with an Entra identity, and nothing else.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Communication/CommunicationServices/Read'
          'Microsoft.Communication/EmailServices/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource identityStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageDataRoles: {
    name: guid(storageAccount.id, identity.id, role)
    scope: storageAccount
    properties: {
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource identitySignalR 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signalR.id, identity.id, signalRAppServer)
  scope: signalR
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signalRAppServer)
  }
}

resource identityEmail 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communicationService.id, identity.id, emailSender.id)
  scope: communicationService
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: emailSender.id
  }
}

resource identityMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
  }
}

// The deploying user may be a person or, in a pipeline, a service principal: principalType is left
// out so either works.
resource userStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in (empty(userPrincipalId) ? [] : storageDataRoles): {
    name: guid(storageAccount.id, userPrincipalId, role)
    scope: storageAccount
    properties: {
      principalId: userPrincipalId
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

@description('Resource id of the custom e-mail sender role.')
output emailSenderRoleDefinitionId string = emailSender.id
