using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FreshBooksConnect.Functions.Http;

/// <summary>204, with the same headers as every other answer.</summary>
public sealed class NoContentAnswer : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context)
    {
        Hygiene.Apply(context.HttpContext.Response);
        context.HttpContext.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
