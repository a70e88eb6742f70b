using EventReceiver;
using StandardWebhooks;

// Started by ./run.sh (EVENTS_RECEIVER=yes); standalone:
//   Events__SigningSecret=<whsec_…> dotnet tools/EventReceiver/bin/Debug/net10.0/EventReceiver.dll --urls http://127.0.0.1:7090
// and Events__WebhookUrl=http://127.0.0.1:7090/events for the app. The secret comes from the environment only: never an
// argument, never printed.
var builder = WebApplication.CreateSlimBuilder(args);
// Only the event lines (and a start line) on the console: they are what a developer watches.
builder.Logging.ClearProviders();
var secret = builder.Configuration["Events:SigningSecret"];
if (!EventPrinter.IsSigningSecret(secret))
{
    await Console.Error.WriteLineAsync("Events__SigningSecret must be set in the environment: whsec_ followed by base64 of 24 to 64 random bytes, the same as the app's.");
    return 2;
}

await using var app = builder.Build();
var printer = new EventPrinter(new StandardWebhook(secret!), Console.Out);
app.MapGet("/", () => "FreshBooks Connect event receiver: POST Standard Webhooks events to any path.");
app.MapPost("/{**path}", printer.ReceiveAsync);
await app.StartAsync();
Console.WriteLine($"Event receiver listening on {string.Join(", ", app.Urls)}; each event's signature is verified with Events__SigningSecret.");
await app.WaitForShutdownAsync();
return 0;
