using System.Xml.Linq;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace SyncFunctions.Security;

/// <summary>
/// Keeps the Data Protection key ring in a blob container, so every instance can read secrets any
/// other instance protected. The interface is synchronous; so are these calls.
/// </summary>
public sealed class BlobKeyRing(BlobContainerClient container) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = new List<XElement>();
        foreach (var blob in container.GetBlobs())
        {
            var content = container.GetBlobClient(blob.Name).DownloadContent();
            elements.Add(XElement.Parse(content.Value.Content.ToString()));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        var name = (string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName) + ".xml";
        container.GetBlobClient(name).Upload(BinaryData.FromString(element.ToString(SaveOptions.DisableFormatting)), overwrite: true);
    }
}
