// Azure Communication Services with an Email Communication Service and an Azure-managed domain
// (<guid>.azurecomm.net, no DNS to set up), linked so the app can send from DoNotReply@<domain>.
// The app sends through the e-mail REST API with an Entra token; the send permission is a custom
// role (core/security/role-assignments.bicep).

@description('Name of the Communication Services resource (globally unique).')
param communicationServiceName string

@description('Name of the Email Communication Service.')
param emailServiceName string

@description('Where Communication Services keeps data at rest.')
@allowed([
  'Africa'
  'Asia Pacific'
  'Australia'
  'Brazil'
  'Canada'
  'Europe'
  'France'
  'Germany'
  'India'
  'Japan'
  'Korea'
  'Norway'
  'Switzerland'
  'UAE'
  'UK'
  'United States'
])
param dataLocation string = 'United States'

@description('Tags for the resources (carries azd-env-name).')
param tags object

@description('Local part of the sender address on the Azure-managed domain.')
param senderUsername string = 'DoNotReply'

resource emailService 'Microsoft.Communication/emailServices@2025-05-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource managedDomain 'Microsoft.Communication/emailServices/domains@2025-05-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communicationService 'Microsoft.Communication/communicationServices@2025-05-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    // No access keys: the app authenticates with Entra ID.
    disableLocalAuth: true
    linkedDomains: [
      managedDomain.id
    ]
  }
}

@description('Name of the Communication Services resource.')
output communicationServiceName string = communicationService.name

@description('Endpoint of the Communication Services resource (ACS_EMAIL_ENDPOINT).')
output endpoint string = 'https://${communicationService.properties.hostName}'

@description('Sender address on the Azure-managed domain (ACS_EMAIL_SENDER).')
output senderAddress string = '${senderUsername}@${managedDomain.properties.mailFromSenderDomain}'
