using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace LocalHostSample.Functions;

/// <summary>A static function returning a minimal-API IResult.</summary>
public static class PingFunction
{
    [Function("Ping")]
    public static IResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "ping")] HttpRequest request) =>
        TypedResults.Text("pong");
}
