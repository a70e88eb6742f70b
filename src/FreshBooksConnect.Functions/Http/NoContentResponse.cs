using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FreshBooksConnect.Functions.Http;

/// <summary>204, with the same headers as every other answer.</summary>
public sealed class NoContentResponse : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context)
    {
        SecurityHeaders.Apply(context.HttpContext.Response);
        context.HttpContext.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
