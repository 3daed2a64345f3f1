// Azure SignalR Service in Serverless mode: the app sends to groups through the service's REST API
// and hands browsers client tokens at /api/negotiate. Access keys are off (disableLocalAuth), so
// both go through Entra ID with the app's identity (SignalR App Server role).

@description('Name of the SignalR Service (globally unique, becomes <name>.service.signalr.net).')
param name string

@description('Azure region of the service.')
param location string

@description('Tags for the service (carries azd-env-name).')
param tags object

@description('Pricing tier: Free_F1 (20 connections, 20,000 messages a day, no SLA) or Standard_S1 (1,000 connections a unit).')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param skuName string = 'Free_F1'

@description('Units of Standard_S1 (Free_F1 always has one).')
@minValue(1)
param capacity int = 1

@description('Origins allowed to negotiate from a browser; the default allows any.')
param allowedOrigins string[] = [
  '*'
]

resource signalR 'Microsoft.SignalRService/signalR@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'SignalR'
  sku: {
    name: skuName
    capacity: skuName == 'Free_F1' ? 1 : capacity
  }
  properties: {
    features: [
      {
        flag: 'ServiceMode'
        value: 'Serverless'
      }
      {
        flag: 'EnableConnectivityLogs'
        value: 'True'
      }
    ]
    cors: {
      allowedOrigins: allowedOrigins
    }
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: {
      clientCertEnabled: false
    }
  }
}

@description('Name of the service.')
output name string = signalR.name

@description('Endpoint of the service (AZURE_SIGNALR_ENDPOINT), e.g. https://<name>.service.signalr.net.')
output endpoint string = 'https://${signalR.properties.hostName}'
