using System.Text.Json;
using Azure.Storage.Queues;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace FreshBooksConnect.IntegrationTests;

/// <summary>Runs renewal the way the deployment does, but to completion: the timer function, then the queue function per message.</summary>
public static class RenewalDriver
{
    /// <summary>Runs the sweep (the timer function) on <paramref name="app"/>.</summary>
    public static Task SweepAsync(AppInstance app) => app.Host.InvokeAsync("RenewalSweep");

    /// <summary>Takes every message off the renewal queue and runs the queue function for each; returns how many.</summary>
    public static Task<int> DrainQueueAsync(ConnectStack stack, params AppInstance[] workers) =>
        DrainAsync(stack, StorageOptions.RenewalQueueName, "RenewConnection", workers);

    /// <summary>Takes every message off the event queue and runs the delivery function for each; returns how many.</summary>
    public static Task<int> DeliverEventsAsync(ConnectStack stack, params AppInstance[] workers) =>
        DrainAsync(stack, StorageOptions.EventQueueName, "DeliverEvents", workers);

    private static async Task<int> DrainAsync(ConnectStack stack, string queueName, string function, AppInstance[] workers)
    {
        var queue = new QueueClient(stack.Azurite.ConnectionString, queueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var handled = 0;
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1))).Value;
            if (messages.Length == 0)
            {
                return handled;
            }

            await Task.WhenAll(messages.Select(async (message, i) =>
            {
                await workers[i % workers.Length].Host.InvokeAsync(function, message.Body.ToString());
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }));
            handled += messages.Length;
        }
    }

    public static async Task<int> SweepAndRenewAsync(ConnectStack stack, AppInstance app)
    {
        await SweepAsync(app);
        return await DrainQueueAsync(stack, app);
    }

    public static async Task<Connection> ConnectionAsync(AppInstance app, string id) =>
        (await app.Services.GetRequiredService<IConnectionStore>().GetAsync(id, default))!;

    public static string MessageFor(string connectionId, DateTimeOffset renewAt) =>
        JsonSerializer.Serialize(new RenewalMessage(connectionId, renewAt), new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
