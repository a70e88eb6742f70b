using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FreshBooksConnect.Functions;

public sealed class PingFunction
{
    [Function("Ping")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) => new OkObjectResult("ok");

    [Function("Tick")]
    public void Tick([TimerTrigger("%Renewal__Schedule%")] TimerInfo timer) { }

    [Function("Q")]
    public void Q([QueueTrigger("renewals", Connection = "Storage")] string message) { }
}
