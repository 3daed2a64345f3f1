using Azure.Core.Serialization;
using Microsoft.DurableTask;

namespace SyncFunctions.LocalHost.Durable;

/// <summary>
/// The worker's rule: orchestration, entity and activity payloads go through the app's
/// <c>WorkerOptions.Serializer</c>, so both hosts write the same JSON into the task hub.
/// </summary>
internal sealed class ObjectSerializerConverter(ObjectSerializer serializer) : DataConverter
{
    public override string? Serialize(object? value) =>
        value is null ? null : serializer.Serialize(value, value.GetType(), CancellationToken.None).ToString();

    public override object? Deserialize(string? data, Type targetType)
    {
        if (data is null)
        {
            return null;
        }

        using var stream = BinaryData.FromString(data).ToStream();
        return serializer.Deserialize(stream, targetType, CancellationToken.None);
    }
}
